import { parseArgs } from 'node:util';
import type { FederationOverrides } from './server';

/**
 * The server's command line, in one table: parsing, --help and the names in settings-conflict
 * messages all come from it, so a new flag cannot be documented in one place and missed in another.
 */

/** How a flag's text becomes a setting, and how a stored setting is shown in the flag's own terms. */
interface ValueKind {
  /** undefined: not a valid value. */
  parse(raw: string): unknown;
  show(value: unknown): string;
  expects: string;
}

const toNumber = (raw: string): number | undefined => (raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : undefined);

const text: ValueKind = { parse: (raw) => raw, show: String, expects: 'a value' };
const number: ValueKind = { parse: toNumber, show: String, expects: 'a number' };
const port: ValueKind = {
  parse: (raw) => {
    const n = toNumber(raw);
    return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 65_535 ? n : undefined;
  },
  show: String,
  expects: 'a port number (0 to 65535)',
};
/** Flags count seconds; the settings hold milliseconds. */
const seconds: ValueKind = {
  parse: (raw) => {
    const n = toNumber(raw);
    return n === undefined ? undefined : n * 1000;
  },
  show: (ms) => String(Number(ms) / 1000),
  expects: 'a number of seconds',
};
const subClients: ValueKind = {
  parse: (raw) => (raw === 'heuristic' || raw === 'adaptive' ? raw : toNumber(raw)),
  show: String,
  expects: 'a number, heuristic or adaptive',
};

export interface FlagSpec {
  /** One line for --help. */
  help: string;
  /** Placeholder in --help; a flag without one is a switch. */
  arg?: string;
  kind?: ValueKind;
  /** The federation setting it sets, as a dot path into FederationConfig. */
  setting?: string;
  /** Environment variable that stands in when the flag is absent, and the value when neither is given. */
  env?: string;
  fallback?: string;
  /** A flag that only means something together with this other one (which turns the feature on). */
  needs?: string;
  short?: string;
}

export const FLAGS: Record<string, FlagSpec> = {
  help: { help: 'print this help and exit', short: 'h' },
  host: { help: 'address to listen on', arg: 'address', kind: text, env: 'FEDWARD_HOST', fallback: '127.0.0.1' },
  port: { help: 'port to listen on; 0 picks a free one', arg: 'n', kind: port, env: 'FEDWARD_PORT', fallback: '8080' },
  db: { help: 'SQLite database: the federation, its rounds, tokens and audit log', arg: 'file', kind: text, env: 'FEDWARD_DB', fallback: 'data/fedward.sqlite' },
  'allowed-origin': {
    help: "comma-separated browser origins allowed to open sockets besides the server's own (e.g. the public https origin behind a proxy that rewrites Host)",
    arg: 'origins',
    kind: text,
    env: 'FEDWARD_ALLOWED_ORIGINS',
  },
  reset: { help: "start a new federation in this database (the old one is stopped; its rounds and ledger stay in the file)" },
  'record-received': {
    help: 'append every message hospitals send (its fields; binary as a length) to this JSON-lines file, to check their receipts against; it holds private statistics: keep it like the database',
    arg: 'file',
    kind: text,
  },
  enrol: { help: 'comma-separated hospital names to give enrolment tokens on first start (the demo)', arg: 'names', kind: text },
  'tokens-file': { help: "where the demo's enrolment tokens are kept between starts (mode 600)", arg: 'file', kind: text },
  rounds: { help: 'rounds to run', arg: 'n', kind: number, setting: 'rounds' },
  'min-clients': { help: 'hospitals that must be connected before a round starts', arg: 'n', kind: number, setting: 'minClients' },
  'min-updates': { help: 'valid updates needed to release a round (default: min-clients)', arg: 'n', kind: number, setting: 'minUpdates' },
  'deadline-s': { help: "a round's deadline", arg: 'seconds', kind: seconds, setting: 'roundDeadlineMs' },
  'upload-stall-s': { help: 'an upload silent this long is cancelled and its hospital leaves the round (default 60)', arg: 'seconds', kind: seconds, setting: 'uploadStallMs' },
  model: {
    help: 'small-cnn | densenet | unet | vgg-slim (normalisation layers: for FedBN and PRR-FL) | small-cnn-vb (small-cnn with PRECODE\'s variational bottleneck)',
    arg: 'kind',
    kind: text,
    setting: 'model.kind',
  },
  'vb-beta': { help: 'small-cnn-vb: weight β of the bottleneck\'s KL term in the training loss (default 1e-3, PRECODE\'s)', arg: 'β', kind: number, setting: 'model.vb.beta' },
  'vb-k': { help: 'small-cnn-vb: latent dimensions K of the bottleneck (default 16, the width of the features it encodes; PRECODE used 256 on far wider ones)', arg: 'K', kind: number, setting: 'model.vb.k' },
  'model-norm': {
    help: "norm layers of densenet, unet and vgg-slim: batch (default) | group (GroupNorm, per-slice statistics: needed by DP-SGD)",
    arg: 'batch|group',
    kind: text,
    setting: 'model.norm',
  },
  'input-size': { help: 'side of the square input slices, in pixels', arg: 'n', kind: number, setting: 'model.inputSize' },
  epochs: { help: 'local epochs per round', arg: 'n', kind: number, setting: 'training.epochs' },
  'batch-size': { help: 'local batch size', arg: 'n', kind: number, setting: 'training.batchSize' },
  'learning-rate': { help: 'local learning rate', arg: 'x', kind: number, setting: 'training.learningRate' },
  'dp-noise': { help: 'client-level DP (DP-FedAvg) noise multiplier z; setting it turns DP on', arg: 'z', kind: number, setting: 'privacy.noiseMultiplier' },
  'dp-clip': { help: 'DP clip norm C', arg: 'x', kind: number, setting: 'privacy.clipNorm', needs: 'dp-noise' },
  'dp-epsilon': { help: 'DP budget: no round starts that would take ε past this', arg: 'x', kind: number, setting: 'privacy.targetEpsilon', needs: 'dp-noise' },
  'dp-delta': { help: 'DP δ', arg: 'x', kind: number, setting: 'privacy.delta', needs: 'dp-noise' },
  'dp-unit': { help: 'the relation the budget guards: patient | hospital (both are always reported)', arg: 'unit', kind: text, setting: 'privacy.unit', needs: 'dp-noise' },
  'dp-accountant': { help: 'rdp (gdp is refused for the discrete Gaussian)', arg: 'name', kind: text, setting: 'privacy.accountant', needs: 'dp-noise' },
  'dp-vn': { help: 'sub-clients per hospital: a number | heuristic (public inputs) | adaptive (probe round)', arg: 'vn', kind: subClients, setting: 'privacy.virtualClients', needs: 'dp-noise' },
  'dp-vn-rule': { help: 'adaptive rule variant: default | ada_stable | ada_prog', arg: 'rule', kind: text, setting: 'privacy.vnRule', needs: 'dp-noise' },
  'dp-clip-rule': { help: 'fixed | median (the seed’s, NOT private) | quantile (Andrew et al., private)', arg: 'rule', kind: text, setting: 'privacy.clipRule', needs: 'dp-noise' },
  'dp-count-noise': { help: "σ_b of the quantile rule's noised count (default z)", arg: 'x', kind: number, setting: 'privacy.countNoise', needs: 'dp-noise' },
  'dp-norm-sum-noise': { help: "noise multiplier of the adaptive rule's noised norm sum (default z)", arg: 'x', kind: number, setting: 'privacy.normSumNoise', needs: 'dp-noise' },
  'dp-sgd-noise': { help: 'DP-SGD inside each hospital: noise multiplier σ on each step\'s clipped gradient sum; setting it turns DP-SGD on (small-cnn, or any model with --model-norm group)', arg: 'σ', kind: number, setting: 'dpSgd.noiseMultiplier' },
  'dp-sgd-clip': { help: "DP-SGD: clip bound C of one record's gradient (a patient's, where the slices carry patient ids)", arg: 'x', kind: number, setting: 'dpSgd.clip', needs: 'dp-sgd-noise' },
  'dp-sgd-epsilon': { help: "DP-SGD: each hospital's own budget ε per record; its training stops before passing it", arg: 'x', kind: number, setting: 'dpSgd.targetEpsilon', needs: 'dp-sgd-noise' },
  'dp-sgd-delta': { help: 'DP-SGD: δ of the local budget', arg: 'x', kind: number, setting: 'dpSgd.delta', needs: 'dp-sgd-noise' },
  'dp-sgd-sampling': {
    help: "DP-SGD: poisson (default; accounted with the RDP bound proven for the discrete noise) | uniform (deepee's fixed batches without replacement; accounted with deepee's GDP CLT approximation, not a strict bound)",
    arg: 'name',
    kind: text,
    setting: 'dpSgd.sampling',
    needs: 'dp-sgd-noise',
  },
  'dp-sgd-reduction': {
    help: "DP-SGD: sum (default, the textbook (Σ clip(g_i) + noise)/B) | mean (deepee's mean-reduction scaling: (1/B)·Σ clip(g_i/B) + noise·C/B)",
    arg: 'name',
    kind: text,
    setting: 'dpSgd.reduction',
    needs: 'dp-sgd-noise',
  },
  secagg: { help: 'secure aggregation (needs --dp-noise and --secagg-threshold): hospitals upload masked sums; the server unmasks only the total' },
  'secagg-threshold': { help: 'secure aggregation: t, the participants needed to unmask (2 ≤ t ≤ min-clients); a round completes while t remain', arg: 't', kind: number, setting: 'secureAggregation.threshold', needs: 'secagg' },
  'secagg-stage-timeout-s': { help: 'secure aggregation: how long each stage after the keys waits for answers (default 60)', arg: 'seconds', kind: seconds, setting: 'secureAggregation.stageTimeoutMs', needs: 'secagg' },
  strategy: { help: 'server optimizer: fedavg | fedadam | fednova', arg: 'name', kind: text, setting: 'aggregation.strategy' },
  'server-lr': { help: "the server optimizer's learning rate", arg: 'x', kind: number, setting: 'aggregation.serverLearningRate', needs: 'strategy' },
  'server-tau': { help: "FedNova under DP: the public local step count of one hospital's round", arg: 'n', kind: number, setting: 'aggregation.publicSteps', needs: 'strategy' },
  robust: { help: 'without DP: norm-bound | median | trimmed-mean, so one hospital cannot take the model over', arg: 'rule', kind: text, setting: 'aggregation.robust.rule' },
  'robust-norm-bound': { help: "norm-bound: each update's change is scaled to L2 norm ≤ this", arg: 'x', kind: number, setting: 'aggregation.robust.normBound', needs: 'robust' },
  'robust-trim': { help: 'trimmed-mean: fraction dropped at each end per coordinate (< 0.5)', arg: 'x', kind: number, setting: 'aggregation.robust.trim', needs: 'robust' },
  personalization: { help: 'fedavg | fedbn (local normalisation) | prr-fl (personalized + deputy models)', arg: 'name', kind: text, setting: 'personalization.strategy' },
  'pfa-l-rate': { help: 'PRR-FL: share of each spectral axis averaged at round 0', arg: 'x', kind: number, setting: 'personalization.lRate', needs: 'personalization' },
  'pfa-divisor': { help: 'PRR-FL: clients (a true mean) | seed-4 (the seed’s literal 4)', arg: 'name', kind: text, setting: 'personalization.divisor', needs: 'personalization' },
};

export interface CliOptions {
  host: string;
  port: number;
  db: string;
  reset: boolean;
  allowedOrigins: string[];
  enrol: string[];
  tokensFile?: string;
  recordReceived?: string;
  /** Only the settings given on the command line: a stored federation is checked against exactly these. */
  federation: FederationOverrides;
}

export type CliResult = { ok: true; options: CliOptions } | { ok: false; help: true } | { ok: false; help: false; error: string };

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliResult {
  let given: Record<string, string | boolean | undefined>;
  try {
    given = parseArgs({ args: argv, options: parseArgsOptions(), strict: true, allowPositionals: false }).values;
  } catch (e) {
    return { ok: false, help: false, error: `${parseErrorText(e as Error & { code?: string })} (see --help)` };
  }
  if (given.help) return { ok: false, help: true };
  try {
    return { ok: true, options: toOptions(given, env) };
  } catch (e) {
    if (e instanceof CliError) return { ok: false, help: false, error: `${e.message} (see --help)` };
    throw e;
  }
}

class CliError extends Error {}

function parseArgsOptions() {
  return Object.fromEntries(
    Object.entries(FLAGS).map(([name, f]) => [name, { type: f.arg ? ('string' as const) : ('boolean' as const), ...(f.short && { short: f.short }) }]),
  );
}

function parseErrorText(e: Error & { code?: string }): string {
  const unknown = e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && /'([^']+)'/.exec(e.message);
  return unknown ? `unknown option ${unknown[1]}` : e.message;
}

function toOptions(given: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): CliOptions {
  const value = (name: string): unknown => {
    const f = FLAGS[name]!;
    const raw = (given[name] as string | undefined) ?? (f.env && env[f.env]) ?? f.fallback;
    if (raw === undefined) return undefined;
    const parsed = f.kind!.parse(raw);
    if (parsed === undefined) throw new CliError(`--${name} expects ${f.kind!.expects}, got '${raw}'`);
    return parsed;
  };
  const federation: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(FLAGS)) {
    if (!f.setting || given[name] === undefined) continue;
    if (f.needs && given[f.needs] === undefined) throw new CliError(`--${name} needs --${f.needs}`);
    setPath(federation, f.setting, value(name));
  }
  if (given.secagg === true && given['secagg-threshold'] === undefined) throw new CliError('--secagg needs --secagg-threshold t (the participants needed to unmask the sum; 2 ≤ t ≤ --min-clients)');
  const enrol = value('enrol') as string | undefined;
  return {
    host: value('host') as string,
    port: value('port') as number,
    db: value('db') as string,
    reset: given.reset === true,
    allowedOrigins: ((value('allowed-origin') as string | undefined) ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    enrol: (enrol ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    tokensFile: value('tokens-file') as string | undefined,
    recordReceived: value('record-received') as string | undefined,
    // The table maps each flag onto its setting; zod checks the assembled settings when a federation is created.
    federation: federation as FederationOverrides,
  };
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  let node = target;
  for (const k of keys) node = (node[k] ??= {}) as Record<string, unknown>;
  node[last] = value;
}

/** The flag that sets a federation setting, for messages that should speak the user's language. */
export function flagForSetting(path: string): { flag: string; show: (value: unknown) => string } | undefined {
  const found = Object.entries(FLAGS).find(([, f]) => f.setting === path);
  return found && { flag: found[0], show: found[1].kind!.show };
}

/** `defaults`: what a new federation gets for a setting that is not given (shown after each flag). */
export function helpText(defaults: object): string {
  const rows = Object.entries(FLAGS).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.arg ? ` <${f.arg}>` : ''}`;
    return `  ${left.padEnd(32)} ${f.help}${defaultNote(f, defaults)}`;
  });
  return [
    'Usage: fedward-server [options]',
    '',
    'Runs a Fedward federation: serves the hospital app at / and the admin dashboard at /admin/.',
    'Federation settings apply when the database has no federation yet; a stored federation keeps',
    'its own, and a flag that disagrees with it stops the start (see --reset).',
    'FEDWARD_ADMIN_PASSWORD sets the admin password on first start.',
    '',
    ...rows,
    '',
  ].join('\n');
}

function defaultNote(f: FlagSpec, defaults: object): string {
  const fromEnv = f.env ? `; env ${f.env}` : '';
  if (f.fallback !== undefined) return ` (default ${f.fallback}${fromEnv})`;
  const stored = f.setting ? valueAt(defaults, f.setting) : undefined;
  return stored === undefined ? '' : ` (default ${f.kind!.show(stored)})`;
}

export function valueAt(source: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, k) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined), source);
}
