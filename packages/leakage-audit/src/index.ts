/**
 * @fedward/leakage-audit: what one weight update leaks. A gradient-inversion attack (Geiping et
 * al. 2020, "Inverting Gradients", as seed 3 configures it) against the product's own update path,
 * with the image metrics and defences to measure it. Platform-free (no DOM, no Node APIs).
 */
export { registerSecondOrderGradients, SECOND_ORDER_KERNELS } from './second-order';
export {
  SMALL_CNN_WEIGHTS,
  assertSmallCnn,
  crossEntropy,
  logSumExp,
  normalizeImages,
  paramsFromWeights,
  simulateLocalUpdate,
  smallCnnLogits,
  type LocalTraining,
  type LocalUpdateSimulation,
  type SmallCnnParams,
} from './simulate';
export {
  SMALL_CNN_VB_WEIGHTS,
  assertSmallCnnVb,
  seededDraws,
  simulateLocalUpdateVb,
  smallCnnVbForward,
  vbSimulation,
  type AttackerNoise,
  type VbForward,
} from './simulate-vb';
export { matchingLoss, totalVariation } from './objective';
export { attackObjective, homotopyTemperature, invert, signedAdamStep, stepSize, type InvertOptions, type InvertProgress, type InvertResult } from './invert';
export { gaussianWindow, matchMoments, mse, psnr, ssim, type SsimOptions } from './metrics';
export { DEFENCES, IMPLEMENTED_DEFENCES, clientDpRelease, secureAggregateSum, type ClientDpOptions, type ClientDpRelease, type Defence } from './defences';
export { demoImages } from './demo-images';
export {
  diagnose,
  influenceMask,
  maskFraction,
  maskedPsnr,
  projectedSensitivity,
  warmStartProbe,
  type Diagnosis,
  type DiagnoseInput,
  type ImageDiagnosis,
  type WarmStartProbe,
} from './diagnose';
export { dpSgdPatientEpsilon, hospitalUpdate, type HospitalTraining } from './hospital';
export { observedUpdate, type Observed, type ObserveSettings } from './observe';
