import type { BackendName, FederationConfig, ProtocolError } from '@fedward/protocol';

/**
 * What a participant reports while it runs. The hospital app renders these as progress bars;
 * tests and Node clients read them to know where a federation is.
 */
export type ClientEvent =
  | { type: 'connected'; hospital: string; config: FederationConfig; backend: BackendName }
  | { type: 'disconnected'; reason: string }
  | { type: 'round-start'; round: number; deadline: number }
  | { type: 'epoch-start'; round: number; epoch: number; epochs: number }
  | { type: 'batch'; round: number; epoch: number; epochs: number; batch: number; batches: number; loss: number }
  | { type: 'epoch-end'; round: number; epoch: number; epochs: number; loss: number }
  | { type: 'upload'; round: number; sentBytes: number; totalBytes: number }
  | { type: 'uploaded'; round: number }
  | { type: 'round-result'; round: number; participants: number }
  | { type: 'evaluated'; round: number; accuracy: number; loss: number; samples: number }
  | { type: 'rejected'; error: ProtocolError }
  | { type: 'federation-done'; round: number; reason?: string };
