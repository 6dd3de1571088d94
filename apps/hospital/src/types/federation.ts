import type { FederationConfig, HospitalPrivacyView, StudyPlan, StudySummary } from '@fedward/protocol';

/** A study this hospital may join, as GET /api/studies describes it. */
export interface StudyOffer extends StudySummary {
  config: FederationConfig;
  plan: StudyPlan;
  planDigest: string;
  privacy: HospitalPrivacyView | null;
}

export interface Enrolment {
  token: string;
  hospital: string;
  studies: StudyOffer[];
}

/** One evaluation this hospital reported: the model after `round` on its held-out slices. */
export interface RoundRecord {
  round: number;
  accuracy: number;
  loss: number;
  samples: number;
  /** PRR-FL: the deputy's accuracy (the row's accuracy is the personalized model's). */
  deputyAccuracy?: number;
}

/** The model updates this hospital sent in one round: one per sub-client. */
export interface SentRound {
  round: number;
  updates: number;
  /** Slices the updates were trained on, in all (an empty sub-client's update counts none). */
  slices: number;
  bytes: number;
  /** The training loss the updates reported, averaged over their slices; null when all were empty. */
  trainLoss: number | null;
}

/** How the federation ended, as the server said. */
export interface FederationEnd {
  round: number;
  reason?: string;
}
