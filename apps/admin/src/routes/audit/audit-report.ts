import type { Defence } from '@fedward/leakage-audit';
import type { FederationConfig, ModelSpec } from '@fedward/protocol';
import type { AuditSettings, DefenceResult } from '../../types/leakage-audit';

/** The product's defaults (the CLI's too) where a study does not set a defence's parameters. */
const DEFAULT_NOISE = { noiseMultiplier: 1, clip: 1, delta: 1e-5 };

/** Hospitals in the secure-aggregation sum (the CLI's default). */
const SECAGG_HOSPITALS = 3;

/** Why the audit cannot simulate this study's hospital, or null when it can. */
export function auditUnsupported(config: FederationConfig): string | null {
  if (config.model.kind !== 'small-cnn') return `The audit simulates the small CNN only for now; this study trains a ${config.model.kind}.`;
  if (auditSpec(config).normalization !== 'zscore') return `The audit’s demo hospital scales slices with z-score; this study uses '${config.model.normalization}'.`;
  return null;
}

/** The study's model with its scaling spelled out (absent means z-score, the product's default), as the demo hospital needs it. */
export function auditSpec(config: FederationConfig): ModelSpec {
  return { ...config.model, normalization: config.model.normalization ?? 'zscore' };
}

/**
 * The run's settings from the study's public settings: its learning rate, its local epochs as the
 * local steps (1–2 slices are one batch, so one step per epoch), its z, C and δ; every defence the
 * package implements. A quick attack budget by default; the admin raises it for a stronger one.
 */
export function auditDefaults(config: FederationConfig, implemented: readonly Defence[]): AuditSettings {
  return {
    images: 1,
    localSteps: config.training.epochs,
    restarts: 1,
    iterations: 200,
    learningRate: config.training.learningRate,
    defences: [...implemented],
    dp: config.privacy ? { noiseMultiplier: config.privacy.noiseMultiplier, clip: config.privacy.clipNorm, delta: config.privacy.delta } : DEFAULT_NOISE,
    dpSgd: config.dpSgd ? { noiseMultiplier: config.dpSgd.noiseMultiplier, clip: config.dpSgd.clip, delta: config.dpSgd.delta } : DEFAULT_NOISE,
    hospitals: SECAGG_HOSPITALS,
  };
}

/** A defence in the page's words. */
export function defenceName(defence: Defence): string {
  switch (defence) {
    case 'none':
      return 'No defence';
    case 'dp':
      return 'Client-level differential privacy (the server’s noised release)';
    case 'secagg':
      return 'Secure aggregation (the sum of several hospitals’ updates)';
    case 'dp-sgd':
      return 'DP-SGD inside the hospital';
    case 'precode':
      return 'PRECODE (variational bottleneck)';
  }
}

const fixed = (v: number, digits: number) => Number(v.toFixed(digits));

/**
 * One defence's result as `npm run audit:leakage -- --json` prints it (bin/audit-leakage.ts
 * `summary`), so a browser run and a CLI run compare field by field. An infinite PSNR (a perfect
 * reconstruction) becomes null in JSON, as there.
 */
export function auditSummary(result: DefenceResult, settings: Pick<AuditSettings, 'restarts' | 'localSteps' | 'iterations' | 'hospitals'>) {
  return {
    defence: result.defence,
    images: result.labels.length,
    psnr_db: result.psnr.map((v) => fixed(v, 2)),
    ssim: result.ssim.map((v) => fixed(v, 4)),
    restarts: settings.restarts,
    model: result.model,
    input_size: result.size,
    local_steps: settings.localSteps,
    iterations: settings.iterations,
    ...(result.epsilon !== null && { epsilon: fixed(result.epsilon, 3) }),
    ...(result.defence === 'secagg' && { hospitals: settings.hospitals }),
    ...(result.vb && { vb_beta: result.vb.beta, vb_k: result.vb.k, attacker_noise: result.vb.attackerNoise }),
  };
}

/** [0, 1] gray values as RGBA bytes for an ImageData (clamped, opaque). */
export function grayscaleRgba(values: ArrayLike<number>): Uint8ClampedArray<ArrayBuffer> {
  const rgba = new Uint8ClampedArray(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(Math.min(1, Math.max(0, values[i]!)) * 255);
    rgba.set([v, v, v, 255], i * 4);
  }
  return rgba;
}

/** A PSNR for the page: "∞" for a perfect copy. */
export function formatPsnr(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : '∞';
}

/** A whole number typed in a field, within [min, max]; null otherwise. */
export function parseCount(text: string, min: number, max: number): number | null {
  if (!/^\s*\d+\s*$/.test(text)) return null;
  const v = Number(text);
  return v >= min && v <= max ? v : null;
}
