import { useId, useState, type ReactNode } from 'react';
import { ALWAYS_EDITABLE_SETTINGS, studySettingsSchema, type StudySettings } from '@fedward/protocol';

const MODELS: Record<StudySettings['model']['kind'], string> = {
  'small-cnn': 'Small CNN: classifies slices (the demo’s model)',
  densenet: 'DenseNet (shrunk): classifies slices',
  unet: 'U-Net (shrunk): outlines lesions (segmentation)',
  'vgg-slim': 'VGG slim: classifies slices (for FedBN and PRR-FL)',
  'small-cnn-vb': 'Small CNN + variational bottleneck (PRECODE, K = 16, β = 1e-3): classifies slices, updates harder to invert',
};

type Fields = Record<string, string>;

/** The form's text fields from settings (numbers as the admin types them). */
function fieldsOf(s: StudySettings): Fields {
  const p = s.privacy;
  return {
    name: s.name,
    kind: s.model.kind,
    norm: s.model.norm ?? 'batch',
    inputSize: String(s.model.inputSize),
    numClasses: String(s.model.numClasses),
    rounds: String(s.rounds),
    minClients: String(s.minClients),
    deadlineMin: String(Math.round(s.roundDeadlineMs / 60_000)),
    epochs: String(s.training.epochs),
    batchSize: String(s.training.batchSize),
    learningRate: String(s.training.learningRate),
    optimizer: s.training.optimizer,
    aggregation: s.aggregation,
    personalization: s.personalization,
    dp: p ? 'on' : 'off',
    unit: p?.unit ?? 'patient',
    targetEpsilon: String(p?.targetEpsilon ?? 8),
    delta: String(p?.delta ?? 1e-5),
    clipNorm: String(p?.clipNorm ?? 1),
    noise: p?.noiseMultiplier !== undefined ? 'set' : 'calibrate',
    z: String(p?.noiseMultiplier ?? 1),
    vn: typeof p?.virtualClients === 'number' ? 'fixed' : (p?.virtualClients ?? 'heuristic'),
    vnFixed: String(typeof p?.virtualClients === 'number' ? p.virtualClients : 1),
    secagg: p?.secureAggregationThreshold !== undefined ? 'on' : 'off',
    secaggThreshold: String(p?.secureAggregationThreshold ?? 2),
  };
}

function settingsOf(f: Fields): unknown {
  const n = (k: string) => (f[k]!.trim() === '' ? NaN : Number(f[k]));
  return {
    name: f.name,
    rounds: n('rounds'),
    minClients: n('minClients'),
    roundDeadlineMs: Math.round(n('deadlineMin') * 60_000),
    model: { kind: f.kind, inputSize: n('inputSize'), numClasses: n('numClasses'), ...(f.norm === 'group' && f.kind !== 'small-cnn' && { norm: 'group' }) },
    training: { epochs: n('epochs'), batchSize: n('batchSize'), learningRate: n('learningRate'), optimizer: f.optimizer },
    aggregation: f.aggregation,
    personalization: f.personalization,
    privacy:
      f.dp === 'on'
        ? {
            unit: f.unit,
            targetEpsilon: n('targetEpsilon'),
            delta: n('delta'),
            clipNorm: n('clipNorm'),
            ...(f.noise === 'set' && { noiseMultiplier: n('z') }),
            virtualClients: f.vn === 'fixed' ? n('vnFixed') : f.vn,
            ...(f.secagg === 'on' && { secureAggregationThreshold: n('secaggThreshold') }),
          }
        : null,
  };
}

/** The form fields of the settings a frozen study still lets the admin change. */
const EDITABLE_FIELDS = new Set<string>(ALWAYS_EDITABLE_SETTINGS.map((k) => (k === 'roundDeadlineMs' ? 'deadlineMin' : k)));

/**
 * A study's settings: a new study (a draft), or changes to one that is not running. Once a round
 * has run, only the name, rounds, minimum hospitals and deadline can change: the other settings
 * decide what the privacy ledger's entries mean.
 */
export function StudyForm({
  initial,
  mode,
  frozen,
  onSubmit,
  onCancel,
}: {
  initial: StudySettings;
  mode: 'create' | 'edit';
  frozen: boolean;
  onSubmit: (settings: StudySettings) => Promise<string>;
  onCancel: () => void;
}) {
  const [f, setF] = useState<Fields>(() => fieldsOf(initial));
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const id = useId();
  const set = (k: string) => (e: { target: { value: string } }) => setF((old) => ({ ...old, [k]: e.target.value }));
  const locked = (k: string) => frozen && !EDITABLE_FIELDS.has(k);

  const field = (k: string, label: string, extra: { type?: string; step?: string; min?: string; hint?: string } = {}): ReactNode => (
    <div className="stack">
      <label htmlFor={`${id}-${k}`}>{label}</label>
      <input
        id={`${id}-${k}`}
        type={extra.type ?? 'number'}
        inputMode={extra.type === 'text' ? undefined : 'decimal'}
        step={extra.step ?? 'any'}
        min={extra.min}
        value={f[k]}
        onChange={set(k)}
        disabled={locked(k)}
        aria-describedby={extra.hint ? `${id}-${k}-hint` : undefined}
      />
      {extra.hint && (
        <span id={`${id}-${k}-hint`} className="muted small">
          {extra.hint}
        </span>
      )}
    </div>
  );
  const select = (k: string, label: string, options: Record<string, string>): ReactNode => (
    <div className="stack">
      <label htmlFor={`${id}-${k}`}>{label}</label>
      <select id={`${id}-${k}`} value={f[k]} onChange={set(k)} disabled={locked(k)}>
        {Object.entries(options).map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <form
      className="study-form"
      aria-label={mode === 'create' ? 'New study' : 'Study settings'}
      onSubmit={async (e) => {
        e.preventDefault();
        const parsed = studySettingsSchema.safeParse(settingsOf(f));
        if (!parsed.success) {
          setErrors(parsed.error.issues.map((i) => `${i.path.join(' › ') || 'settings'}: ${i.message}`));
          return;
        }
        setBusy(true);
        setErrors([]);
        try {
          setDone(await onSubmit(parsed.data));
        } catch (err) {
          setErrors([(err as Error).message]);
        } finally {
          setBusy(false);
        }
      }}
    >
      {frozen && (
        <p className="notice">
          A round has run, so the model, training, strategy and privacy settings are frozen: changing them would change what the privacy ledger’s entries mean. The name,
          rounds, minimum hospitals and deadline can still change.
        </p>
      )}
      <fieldset>
        <legend>Study</legend>
        {field('name', 'Name', { type: 'text' })}
        {select('kind', 'Model', MODELS)}
        {f.kind !== 'small-cnn' &&
          select('norm', 'Normalisation layers', {
            batch: 'Batch normalisation (the default)',
            group: 'GroupNorm: each slice normalised on its own (needed for DP-SGD)',
          })}
        {field('inputSize', 'Slice size (pixels per side)', { step: '1', min: '8' })}
        {field('numClasses', 'Classes (lesion / normal = 2)', { step: '1', min: '2' })}
      </fieldset>
      <fieldset>
        <legend>Rounds</legend>
        {field('rounds', 'Rounds', { step: '1', min: '1' })}
        {field('minClients', 'Minimum hospitals per round', { step: '1', min: '1' })}
        {field('deadlineMin', 'Round deadline (minutes)', { step: '1', min: '1' })}
      </fieldset>
      <fieldset>
        <legend>Training at each hospital</legend>
        {field('epochs', 'Passes over the local slices per round (epochs)', { step: '1', min: '1' })}
        {field('batchSize', 'Slices per training step (batch size)', { step: '1', min: '1' })}
        {field('learningRate', 'Learning rate')}
        {select('optimizer', 'Optimizer', { amsgrad: 'Adam with AMSGrad', adam: 'Adam', sgd: 'Plain SGD' })}
      </fieldset>
      <fieldset>
        <legend>Strategy</legend>
        {select('aggregation', 'How the server combines updates', { fedavg: 'FedAvg (average)', fedadam: 'FedAdam (server-side Adam)', fednova: 'FedNova (normalised by steps)' })}
        {select('personalization', 'Personalization', {
          fedavg: 'None: every hospital gets the same model',
          fedbn: 'FedBN: each hospital keeps its own normalisation layers',
          'prr-fl': 'PRR-FL: each hospital keeps a personal model',
        })}
      </fieldset>
      <fieldset>
        <legend>Privacy</legend>
        {select('dp', 'Differential privacy', { on: 'On: noise on every released model, with a budget', off: 'Off (no privacy guarantee)' })}
        {f.dp === 'on' && (
          <>
            {select('unit', 'Whom the budget protects', {
              patient: 'Each patient (all slices of one patient at one hospital)',
              hospital: 'Each hospital (everything in one hospital’s data)',
            })}
            {field('targetEpsilon', 'Budget: largest ε over the whole study', { hint: 'Smaller is more private. The server refuses a round that would pass it.' })}
            {field('delta', 'δ (chance the guarantee fails)')}
            {field('clipNorm', 'Clip bound C (largest change one update may make)')}
            {select('noise', 'Noise', { calibrate: 'Choose z for me: the smallest that keeps ε within the budget for all rounds', set: 'I set z myself' })}
            {f.noise === 'set' && field('z', 'Noise multiplier z')}
            {select('vn', 'Updates per hospital per round (sub-clients)', {
              heuristic: 'Chosen from public figures (recommended)',
              adaptive: 'Adaptive (uses noised, accounted statistics)',
              fixed: 'A fixed number',
            })}
            {f.vn === 'fixed' && field('vnFixed', 'Updates per hospital per round', { step: '1', min: '1' })}
            {select('secagg', 'Secure aggregation', {
              off: 'Off: the server sees each hospital’s clipped updates (never stored)',
              on: 'On: the server sees only the total of several hospitals’ updates',
            })}
            {f.secagg === 'on' &&
              field('secaggThreshold', 'Hospitals needed to read the total (threshold t)', {
                step: '1',
                min: '2',
                hint: 'At most the minimum hospitals per round; more than half of them keeps two separate groups from each reading a total.',
              })}
          </>
        )}
      </fieldset>
      {errors.length > 0 && (
        <div className="error" role="alert">
          <p>The settings were not saved:</p>
          <ul>
            {errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </div>
      )}
      {done && (
        <p className="feedback" role="status">
          {done}
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={busy}>
          {mode === 'create' ? 'Create study' : 'Save settings'}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          {done ? 'Close' : 'Cancel'}
        </button>
      </div>
    </form>
  );
}
