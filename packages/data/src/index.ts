/**
 * @fedward/data — browser-safe entry (no fs/path). Node-only helpers live in
 * '@fedward/data/node'.
 */
export { createRng, hashString, deterministicUid, type Rng } from './random';
export {
  renderPhantomSlice,
  samplePhantomVolume,
  lesionRadiusAt,
  IDEAL_SCANNER,
  AIR_HU,
  OBVIOUS_LESIONS,
  SUBTLE_LESIONS,
  type LesionLook,
  type PhantomSlice,
  type PhantomVolume,
  type PhantomLesion,
  type ScannerSettings,
  type RenderSliceOptions,
  type SampleVolumeOptions,
} from './phantom';
export {
  planFederation,
  renderPlannedSlice,
  hospitalProfile,
  validateFederationOptions,
  SLICE_LABELS,
  FEDERATION_DIFFICULTIES,
  LESION_LOOKS,
  type FederationDifficulty,
  type FederationOptions,
  type FederationPlan,
  type FederationTask,
  type HospitalProfile,
  type PlannedHospital,
  type PlannedPatient,
  type PlannedSlice,
  type SliceLabel,
  type DicomStorage,
} from './federation';
export {
  federationFiles,
  sliceToDicom,
  sliceToPng,
  maskToPng,
  summarizePlan,
  type FederationFile,
  type FederationFormat,
  type FederationSummary,
} from './federation-files';
export { windowToUnit, WINDOW_PRESETS, type Window, type WindowPreset } from './window';
export { DataError } from './errors';
export { decodeDicom, type DecodedSlice, type DicomIdentifiers } from './dicom/decode';
export { inspectDicom, type InspectRecord } from './dicom/inspect';
export { valueStats, type ValueStats } from './dicom/stats';
export { transferSyntaxInfo, type TransferSyntaxInfo, type PixelEncoding } from './dicom/transfer-syntax';
export { decodePng, isPng, type DecodedPng } from './png';
export {
  dicomToUnit,
  pngToUnit,
  resolveWindow,
  resizeSquare,
  maskToSquare,
  normalizeSlice,
  quantize,
  dequantize,
  modelInput,
  type WindowChoice,
  type UnitImage,
  type Normalization,
} from './preprocess';
export { readSliceFile } from './slice-file';
export { parseManifest, labelFromFolder, patientFromPath, ManifestError, type Manifest, type ManifestEntry, type ManifestKind } from './labels';
export { saltedHash, randomSalt } from './privacy';
export {
  SliceStore,
  openSliceStore,
  deleteSliceStore,
  checkStorageSpace,
  requestPersistence,
  patientFraction,
  patientIdCoverage,
  patientIdStatus,
  StorageSpaceError,
  SCHEMA_VERSION,
  DEFAULT_STORE_NAME,
  type DatasetSummary,
  type StoreSettings,
  type ReadBatchesOptions,
  type TrainingBatch,
  type StorageCheck,
  type SliceBatchInput,
  type PatientSource,
  type PatientIdCoverage,
  type PatientIdStatus,
  type SampleSlice,
} from './store';
export {
  importFiles,
  newImportId,
  type ImportFile,
  type ImportOptions,
  type ImportProgress,
  type ImportResult,
  type FileProblem,
  type FileProblemKind,
} from './import';
export { syntheticFederationTensors, type HospitalTensors } from './synthetic';
