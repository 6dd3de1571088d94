/**
 * @fedward/privacy: privacy accounting (RDP, GDP), calibration, a privacy
 * ledger for federated rounds, CSPRNG Gaussian noise and an exact integer
 * discrete Gaussian sampler. Platform-free.
 */

export {
  computeDelta,
  computeEpsilon,
  type AccountantName,
  type AccountingOptions,
  type DeltaReport,
  type EpsilonReport,
  type PrivacyWarning,
  type WarningCode,
} from "./accountant";
export { brentRoot, type BrentOptions, type BrentResult } from "./brent";
export {
  CALIBRATION_RTOL,
  calibrateNoiseMultiplier,
  maxRoundsWithinBudget,
  type NoiseCalibration,
  type NoiseCalibrationTarget,
  type RoundsAnswer,
  type RoundsWithinBudget,
} from "./calibration";
export { epsilonAtOrder, logDeltaAtOrder, rdpToDelta, rdpToEpsilon, type Conversion } from "./conversion";
export {
  DISCRETE_GAUSSIAN_MAX_SIGMA,
  addDiscreteGaussianNoise,
  discreteGaussianNoise,
  discreteGaussianParameters,
  discreteGaussianSample,
  type DiscreteGaussianOptions,
  type DiscreteGaussianParameters,
} from "./discrete-gaussian";
export { discreteGaussianRounds, gaussianRounds, parseDpEvent, type Atom, type DpEvent, type Sampling } from "./events";
export { GDP_EPSILON_XTOL, gdpDelta, gdpEpsilon, gdpLogDelta, muGaussian, muPoissonClt, muUniformClt } from "./gdp";
export {
  LEDGER_FORMAT,
  LEDGER_VERSION,
  PrivacyLedger,
  checkBudget,
  projectEpsilon,
  type Budget,
  type BudgetCheck,
  type LedgerEntry,
  type LedgerJson,
  type RoundSpec,
} from "./ledger";
export {
  addGaussianNoise,
  addGaussianNoiseToModel,
  cryptoRandomFill,
  gaussianNoise,
  type NamedTensor,
  type RandomFill,
} from "./noise";
export { DP_ACCOUNTING_ORDERS, OPACUS_ORDERS, TF_PRIVACY_ORDERS, resolveOrders, type OrderListName, type OrdersOption } from "./orders";
export { MAX_QUADRATURE_NODES, rdpCurve, rdpSubsampledGaussian } from "./rdp";
export { erf, erfc, logErfc, logNdtr, ndtr } from "./special";
export { addOnGrid, decodeMean, encodeOnGrid, gridFor, gridNormFloor, type Grid } from "./fixed-point";
export { GridContribution, contributionLength, maxUpdatesOnRing, updateDelta, type ContributionShape } from "./grid-contribution";
export { gridKernelsInUse, setEncodeRotationForTests, setGridHelper, setGridKernelsMode, type GridHelper, type GridKernelsMode } from "./grid-kernels";
export { dpSgdEpsilon, rdpPoissonDiscreteGaussian, type DpSgdEpsilon, type DpSgdSampling } from "./dp-sgd";
