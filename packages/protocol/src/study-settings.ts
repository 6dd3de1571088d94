import type { FederationConfig } from './config';
import type { StudySettings } from './messages';

/** A study's settings as the admin's form shows them (what the form cannot set keeps its stored value). */
export function studySettingsOf(config: FederationConfig): StudySettings {
  const p = config.privacy;
  return {
    name: config.name,
    rounds: config.rounds,
    minClients: config.minClients,
    roundDeadlineMs: config.roundDeadlineMs,
    model: {
      kind: config.model.kind,
      inputSize: config.model.inputSize,
      numClasses: config.model.numClasses,
      // Only when set to GroupNorm, so the settings of every other study stay as they were.
      ...(config.model.norm === 'group' && { norm: 'group' as const }),
    },
    training: { ...config.training, optimizer: config.training.optimizer ?? 'amsgrad' },
    aggregation: config.aggregation?.strategy ?? 'fedavg',
    personalization: config.personalization?.strategy ?? 'fedavg',
    privacy: p
      ? {
          unit: p.unit,
          targetEpsilon: p.targetEpsilon,
          delta: p.delta,
          clipNorm: p.clipNorm,
          noiseMultiplier: p.noiseMultiplier,
          virtualClients: p.virtualClients ?? 'heuristic',
          ...(config.secureAggregation && { secureAggregationThreshold: config.secureAggregation.threshold }),
        }
      : null,
  };
}

/** Settings that may change once a round has run: none of them changes what the ledger's entries mean. */
export const ALWAYS_EDITABLE_SETTINGS = ['name', 'rounds', 'minClients', 'roundDeadlineMs'] as const;
