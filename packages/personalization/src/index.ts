// Platform-free and TF.js-free, so the server can import it. The DET losses need TF.js and live behind
// the subpath `@fedward/personalization/det-losses` (src/det/losses.ts).
export type { NamedTensor } from './types';

export { fft, ifft } from './fft/fft1d';
export { fft2, ifft2 } from './fft/fft2d';
export { fftshift2d, ifftshift2d } from './fft/shift';

export {
  pfaTransformTensor,
  progressiveFourierAggregate,
  resolveDivisor,
  type PfaDivisor,
  type PfaOptions,
} from './pfa/aggregate';
export { averageLowFrequencyAmplitude } from './pfa/avg-freq';
export { gatherMatrix, pfaMatrixView, scatterMatrix, type PfaLayout, type PfaMatrixView } from './pfa/layout';
export { defaultTensorRole, type TensorRole } from './pfa/roles';
export { PFA_FINAL_RATE, progressiveThreshold } from './pfa/threshold';
export { lowFrequencyWindow, type SpectralWindow } from './pfa/window';

export {
  DET_ROUND_START,
  DET_THRESHOLDS,
  detDistillation,
  nextDetStage,
  type DetDistillation,
  type DetScores,
  type DetStage,
  type DetThresholds,
  type DetTrainingStage,
} from './det/stage';
export { macroF1 } from './det/macro-f1';
export { prrflLearningRate } from './det/schedule';
