import { Store, type Contribution, type EvaluationRow } from '@fedward/server';
import type { DpRoundView, FederationConfig, StudyStatus } from '@fedward/protocol';

export interface StudyResults {
  config: FederationConfig;
  status: StudyStatus;
  /** Finished rounds (1…), each with who contributed, on which backend, and its DP release. */
  rounds: { round: number; completedAt: number; dp: DpRoundView | null; participants: Contribution[] }[];
  /** Every hospital's held-out accuracy and loss of every global model, round 0 (the initial model) included. */
  evaluations: EvaluationRow[];
}

/**
 * Reads the study from the server's SQLite file once the server has stopped: the stored rounds
 * and evaluations exactly (the live snapshots leave out round 0, the initial model).
 */
export function readStudyResults(dbPath: string, studyId: string): StudyResults {
  const store = new Store(dbPath);
  try {
    const study = store.studies().find((s) => s.config.id === studyId);
    if (!study) throw new Error(`study ${studyId} is not in ${dbPath}`);
    return { config: study.config, status: study.status, rounds: store.rounds(studyId), evaluations: store.evaluations(studyId) };
  } finally {
    store.close();
  }
}
