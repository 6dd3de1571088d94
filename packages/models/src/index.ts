export * from './types';
export * from './backend';
export * from './backend-ladder';
export * from './memory-dataset';
export { createModel } from './create-model';
export { mergeOptimizerStates, encodeOptimizerState, decodeOptimizerState, OptimizerStateError } from './optimizer-state';
export { densenetSizes, DENSENET_BLOCKS, DENSENET_GROWTH } from './densenet';
export { UNET_FEATURES } from './unet';
export { createVggSlim, vggSlimLayout, VGG_SLIM_WIDTH, VGG_SLIM_BN_MOMENTUM, VGG_SLIM_BN_EPSILON } from './vgg-slim';
export {
  createDetEngine,
  detStageNumber,
  detStageDistillation,
  DET_WEIGHT_DECAY,
  type DetEngine,
  type DetStageNumber,
  type DetTrainEpochOptions,
} from './det-engine';
export { SGD_WEIGHT_DECAY } from './sgd';
export { FUSED_ADAM_KERNEL, type FusedAdamAttrs } from './fused-adam';
export {
  exportLayersModel,
  onnxSupport,
  LAYERS_WEIGHTS_FILE,
  type ExportedModelInfo,
  type LayersExport,
  type LayersExportOptions,
  type LayersModelJson,
  type LayersWeightSpec,
} from './export-layers';
export { createSmallCnnVb, vbSettings, SMALL_CNN_VB_FEATURES } from './small-cnn-vb';
export { VARIATIONAL_SAMPLE_CLASS } from './variational-bottleneck';
