import type { BackendName, FederationConfig, HospitalPrivacyView, ProtocolError, SecAggStage, SecAggView } from '@fedward/protocol';

/**
 * What a participant reports while it runs. The hospital app renders these as progress bars;
 * tests and Node clients read them to know where a federation is.
 */
export type ClientEvent =
  /** `privacy`: the study's budget and the ε spent so far (null without DP). */
  | { type: 'connected'; hospital: string; config: FederationConfig; backend: BackendName; privacy: HospitalPrivacyView | null }
  | { type: 'disconnected'; reason: string }
  | { type: 'round-start'; round: number; deadline: number }
  /** The round's split: VN asked by the server, the sub-clients this hospital trains, their slices. */
  | { type: 'sub-clients'; round: number; requested: number; slices: number[]; probe: boolean; note: string | null }
  | { type: 'epoch-start'; round: number; subClient: number; subClients: number; epoch: number; epochs: number }
  | { type: 'batch'; round: number; subClient: number; subClients: number; epoch: number; epochs: number; batch: number; batches: number; loss: number }
  | { type: 'epoch-end'; round: number; subClient: number; subClients: number; epoch: number; epochs: number; loss: number }
  | { type: 'upload'; round: number; subClient: number; subClients: number; sentBytes: number; totalBytes: number }
  | { type: 'uploaded'; round: number; subClient: number; subClients: number }
  /** Under secure aggregation: `secagg` says who took part at each stage and that the server saw only the sum. */
  | { type: 'round-result'; round: number; participants: number; privacy: HospitalPrivacyView | null; secagg?: SecAggView }
  /**
   * DP-SGD: this hospital's own ε per record (patient, or slice without patient ids) after a local
   * epoch; `sampling` names its accountant (DP_SGD_ACCOUNTANT_LABELS in @fedward/protocol; the
   * participant always sets it, absent reads as Poisson).
   */
  | { type: 'dp-sgd'; round: number; epoch: number; epsilon: number; target: number; unit: 'patient' | 'slice'; sampling?: 'poisson' | 'uniform' }
  /** DP-SGD's watchdog: the next round would pass this hospital's budget, so it trains no more and leaves. */
  | { type: 'dp-sgd-stopped'; round: number; spent: number; projected: number; target: number; unit: 'patient' | 'slice'; sampling?: 'poisson' | 'uniform' }
  /** Secure aggregation: a stage this hospital finished, in plain words. */
  | { type: 'secagg'; round: number; stage: SecAggStage; detail: string }
  /** Accuracy of the model the hospital uses: the global one, or its personalized model under PRR-FL (then with the deputy's). */
  | { type: 'evaluated'; round: number; accuracy: number; loss: number; samples: number; deputy?: { accuracy: number; loss: number } }
  /** PRR-FL: the DET stage chosen before a local epoch, from both models' training macro-F1 (%). */
  | { type: 'det-stage'; round: number; epoch: number; stage: 'recover' | 'exchange' | 'sublimate'; personalF1: number; deputyF1: number }
  | { type: 'rejected'; error: ProtocolError }
  | { type: 'federation-done'; round: number; reason?: string };
