import { createModel, activateBackend } from '@fedward/models';
import {
  ALWAYS_EDITABLE_SETTINGS,
  canonicalJson,
  federationConfigSchema,
  studySettingsOf,
  type FederationConfig,
  type NamedTensor,
  type StudySettings,
  type StudyStatus,
  type StudySummary,
} from '@fedward/protocol';
import { calibrateNoise } from './calibrate-noise';
import type { Coordinator } from './coordinator';
import { PRIVACY_DEFAULTS } from './federation-settings';
import type { Store } from './store';

export type StudyAction = 'start' | 'pause' | 'resume' | 'stop';

type Result<T = object> = ({ ok: true } & T) | { ok: false; error: { code: 'bad-message'; message: string } };

/** Which status each admin action moves a study from, and to. */
const TRANSITIONS: Record<StudyAction, { from: readonly StudyStatus[]; to: StudyStatus }> = {
  start: { from: ['draft'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  stop: { from: ['draft', 'running', 'paused'], to: 'stopped' },
};


export type MakeCoordinator = (config: FederationConfig, status: StudyStatus) => Coordinator;

/**
 * Every study this server runs, each with its own coordinator (rounds, ledger, hospitals). Studies
 * are created and changed from the admin page; the start flags' study is one of them. A study
 * starts as a draft (settings may change, hospitals may be enrolled, no hospital can connect),
 * then runs, may pause and resume, and is stopped for good.
 */
export class Studies {
  private readonly coordinators = new Map<string, Coordinator>();

  constructor(
    private readonly store: Store,
    private readonly make: MakeCoordinator,
    /** The start flags' study: a new study takes its transport limits and model seed. */
    private readonly defaults: FederationConfig,
  ) {
    for (const { config, status } of store.studies()) this.coordinators.set(config.id, make(config, status));
  }

  get(id: string): Coordinator | undefined {
    return this.coordinators.get(id);
  }

  all(): Coordinator[] {
    return [...this.coordinators.values()];
  }

  summary(c: Coordinator): StudySummary {
    return {
      id: c.config.id,
      name: c.config.name,
      status: c.lifecycle,
      phase: c.phase,
      round: c.round - 1,
      rounds: c.config.rounds,
      hospitals: this.store.enrolled(c.config.id).length,
      frozen: c.frozen,
    };
  }

  summaries(): StudySummary[] {
    return this.all().map((c) => this.summary(c));
  }

  /** The studies a hospital may see and join: those it is enrolled in, drafts excepted. */
  forHospital(hospital: string): Coordinator[] {
    return this.store
      .studiesOf(hospital)
      .map((id) => this.coordinators.get(id))
      .filter((c): c is Coordinator => c !== undefined && c.lifecycle !== 'draft');
  }

  /** A new study (a draft) from the admin's settings. Without z, the smallest z that fits the target ε is calibrated. */
  async create(settings: StudySettings): Promise<Result<{ id: string; calibrated: { noiseMultiplier: number } | null }>> {
    const id = this.newId(settings.name);
    const built = await this.build(id, settings);
    if (!built.ok) return built;
    this.store.createFederation(built.config, built.initial, 'draft');
    this.coordinators.set(id, this.make(built.config, 'draft'));
    return { ok: true, id, calibrated: built.calibrated };
  }

  /**
   * New settings for a study that is not running (a draft, or paused with no round under way).
   * Once a round has run, only the name, rounds, minimum hospitals and deadline may change: the
   * rest decides what the ledger's entries mean. Hospitals connected to it are let go: they
   * review the new plan before joining again.
   */
  async update(id: string, settings: StudySettings): Promise<Result<{ calibrated: { noiseMultiplier: number } | null }>> {
    const current = this.coordinators.get(id);
    if (!current) return bad(`no study ${id}`);
    if (current.lifecycle === 'running' || current.lifecycle === 'stopped' || current.phase === 'training' || current.phase === 'aggregating') {
      return bad(`study ${id} is ${current.lifecycle === 'stopped' ? 'stopped' : 'running'}: pause it (and let its round finish) before changing its settings`);
    }
    let config: FederationConfig;
    let initial: NamedTensor[] | null = null;
    let calibrated: { noiseMultiplier: number } | null = null;
    if (current.frozen) {
      const changed = { ...current.config, ...pick(settings, ALWAYS_EDITABLE_SETTINGS) };
      const frozen = frozenDifferences(studySettingsOf(current.config), settings);
      if (frozen.length) return bad(`a round has run, so these settings are frozen: ${frozen.join(', ')}; only the name, rounds, minimum hospitals and deadline may change`);
      config = federationConfigSchema.parse(changed);
    } else {
      const built = await this.build(id, settings);
      if (!built.ok) return built;
      ({ config, calibrated } = built);
      if (JSON.stringify(built.config.model) !== JSON.stringify(current.config.model)) initial = built.initial;
    }
    this.store.updateStudy(config, initial);
    current.dismissAll({ code: 'plan-changed', message: "this study's settings changed: review the new plan and accept it to join" });
    current.stop();
    this.coordinators.set(id, this.make(config, current.lifecycle));
    return { ok: true, calibrated };
  }

  control(id: string, action: StudyAction): Result {
    const c = this.coordinators.get(id);
    if (!c) return bad(`no study ${id}`);
    const t = TRANSITIONS[action];
    if (!t.from.includes(c.lifecycle)) return bad(`study ${id} is ${c.lifecycle}: it cannot ${action}`);
    if (action === 'start' && this.store.enrolled(id).length === 0) return bad(`enrol at least one hospital in study ${id} before starting it`);
    this.store.setStudyStatus(id, t.to);
    c.setStatus(t.to);
    return { ok: true };
  }

  stopAll(): void {
    for (const c of this.coordinators.values()) c.stop();
  }

  private async build(
    id: string,
    settings: StudySettings,
  ): Promise<Result<{ config: FederationConfig; initial: NamedTensor[]; calibrated: { noiseMultiplier: number } | null }>> {
    // The model first: calibration needs its size, and a bad model spec should fail before anything is stored.
    let config = this.fromSettings(id, settings, settings.privacy?.noiseMultiplier ?? 1);
    const parsed = federationConfigSchema.safeParse(config);
    if (!parsed.success) return bad(parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`).join('; '));
    await activateBackend(['cpu']);
    const model = createModel(parsed.data.model);
    const initial = model.getWeights();
    model.dispose();
    let calibrated: { noiseMultiplier: number } | null = null;
    if (settings.privacy && settings.privacy.noiseMultiplier === undefined) {
      const dimension = initial.reduce((n, t) => n + t.values.length, 0);
      const { noiseMultiplier: _z, ...privacy } = parsed.data.privacy!;
      try {
        calibrated = { noiseMultiplier: calibrateNoise(privacy, settings.rounds, dimension, settings.minClients).noiseMultiplier };
      } catch (e) {
        return bad((e as Error).message);
      }
      config = this.fromSettings(id, settings, calibrated.noiseMultiplier);
    }
    return { ok: true, config: federationConfigSchema.parse(config), initial, calibrated };
  }

  /** The study's full settings: the admin's choices, the rest from the start flags' study. */
  private fromSettings(id: string, s: StudySettings, noiseMultiplier: number | null): FederationConfig {
    const d = this.defaults;
    return {
      id,
      name: s.name,
      rounds: s.rounds,
      minClients: s.minClients,
      roundDeadlineMs: s.roundDeadlineMs,
      maxUpdateBytes: d.maxUpdateBytes,
      chunkBytes: d.chunkBytes,
      ...(d.uploadStallMs !== undefined && { uploadStallMs: d.uploadStallMs }),
      model: { kind: s.model.kind, inputSize: s.model.inputSize, channels: 1, numClasses: s.model.numClasses, seed: d.model.seed, normalization: 'zscore', ...(s.model.norm === 'group' && { norm: 'group' }) },
      training: s.training,
      aggregation: { strategy: s.aggregation },
      personalization: { strategy: s.personalization },
      ...(s.privacy && {
        privacy: {
          ...PRIVACY_DEFAULTS,
          unit: s.privacy.unit,
          targetEpsilon: s.privacy.targetEpsilon,
          delta: s.privacy.delta,
          clipNorm: s.privacy.clipNorm,
          virtualClients: s.privacy.virtualClients,
          noiseMultiplier: s.privacy.noiseMultiplier ?? noiseMultiplier ?? 1,
        },
      }),
      ...(s.privacy?.secureAggregationThreshold !== undefined && { secureAggregation: { threshold: s.privacy.secureAggregationThreshold } }),
    };
  }

  /** "Lung nodules (2027)" → lung-nodules-2027, numbered when taken. */
  private newId(name: string): string {
    const base =
      name
        .normalize('NFKD')
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || 'study';
    const taken = new Set(this.store.federationIds());
    if (!taken.has(base)) return base;
    let n = 2;
    while (taken.has(`${base}-${n}`)) n += 1;
    return `${base}-${n}`;
  }
}

function bad(message: string): { ok: false; error: { code: 'bad-message'; message: string } } {
  return { ok: false, error: { code: 'bad-message', message } };
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

/** Settings (top level, by name) that differ, the always-editable ones aside. A z left out keeps the stored one. */
function frozenDifferences(stored: StudySettings, given: StudySettings): string[] {
  const wanted: StudySettings = given.privacy && stored.privacy && given.privacy.noiseMultiplier === undefined
    ? { ...given, privacy: { ...given.privacy, noiseMultiplier: stored.privacy.noiseMultiplier } }
    : given;
  return (Object.keys(stored) as (keyof StudySettings)[]).filter(
    (k) => !(ALWAYS_EDITABLE_SETTINGS as readonly string[]).includes(k) && canonicalJson(stored[k]) !== canonicalJson(wanted[k]),
  );
}
