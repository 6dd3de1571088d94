import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FLAGS, parseCli, valueAt } from '../../../server/src/cli-flags';

/**
 * The command line of `npm run federate`: the tool's own options, plus every study option of the
 * server (`--rounds`, `--dp-noise`, …) taken from the server's own flag table, so a new server flag
 * is accepted, checked and documented here without a change.
 */

export type Mode = 'browser' | 'node';
export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
/** In Node only TF.js's wasm (with Fedward's kernels) and pure-JS cpu backends exist. */
export const NODE_BACKENDS = ['wasm', 'cpu'] as const;
export type Backend = (typeof BROWSER_BACKENDS)[number];

export interface FederateOptions {
  mode: Mode;
  /** null with --data and no --hospitals: every hospital in the folder. */
  hospitals: number | null;
  /** Browser: null lets each page run its own backend ladder. Node: always set (default wasm). */
  backend: Backend | null;
  data: string | null;
  /** Only for generated data. */
  generate: { format: 'png' | 'dicom'; slicesPerHospital: number; seed: number; difficulty: 'hard' | 'easy' };
  headed: boolean;
  out: string;
  timeoutMs: number;
  /** Server study flags exactly as given (name, value), in the server table's order. */
  studyArgs: string[];
  /** The study flags given, parsed by the server's parser: the settings they set (e.g. rounds, model.inputSize). */
  study: Record<string, unknown>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

interface ToolOption {
  arg?: string;
  help: string;
  /** Shown after the help, as "(default …)". */
  default?: string;
  short?: string;
}

const TOOL: Record<string, ToolOption> = {
  help: { help: 'print this help and exit', short: 'h' },
  browser: { help: 'hospitals are real hospital pages in Chromium, one browser context each (own IndexedDB); the default' },
  node: { help: 'hospitals run in this Node process with participate() from @fedward/client' },
  hospitals: { arg: 'n', help: 'hospitals taking part', default: '3; with --data, every hospital in DIR' },
  backend: {
    arg: 'name',
    help: `TF.js backend: ${BROWSER_BACKENDS.join(' | ')} in the browser (as ?backend= on the hospital page); ${NODE_BACKENDS.join(' | ')} with --node`,
    default: "browser: each page's own backend ladder; node: wasm, falling back to cpu",
  },
  data: { arg: 'dir', help: 'an existing generated federation (DIR/federation.json lists its hospitals)', default: 'generate one into OUT/data' },
  format: { arg: 'png|dicom', help: 'file format of generated data', default: 'png' },
  'slices-per-hospital': { arg: 'n', help: 'slices per hospital in generated data (the image side is the study --input-size)', default: '120' },
  seed: { arg: 'n', help: 'generator seed', default: '1' },
  difficulty: {
    arg: 'hard|easy',
    help: 'generated task: hard = small low-contrast lesions and strongly shifted scanners; easy = large bright lesions, learned in a round or two',
    default: 'hard',
  },
  headed: { help: 'show the browser windows (hospitals and the admin dashboard)' },
  out: { arg: 'dir', help: 'where report.md, report.json, the charts and logs go', default: 'bench-results/federate-<date-time>' },
  'timeout-min': { arg: 'minutes', help: 'give up (exit 1) when the study has not finished after this long', default: '60' },
};

/** Server flags that are study settings (each has a `setting`); the others (port, db, enrol…) are the tool's to set. */
const STUDY_FLAGS = Object.entries(FLAGS).filter(([, f]) => f.setting !== undefined);

/** Relative paths are the caller's: `npm run` starts scripts in the repository root, INIT_CWD is where it was typed. */
const callerPath = (p: string) => resolve(process.env.INIT_CWD ?? process.cwd(), p);

const stamp = (d: Date) => d.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');

export type ParseResult = { help: true } | { help: false; options: FederateOptions };

export function parseOptions(argv: string[], repoRoot: string, now = new Date()): ParseResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(
          Object.entries(TOOL).map(([name, o]) => [name, { type: o.arg ? ('string' as const) : ('boolean' as const), ...(o.short && { short: o.short }) }]),
        ),
        ...Object.fromEntries(STUDY_FLAGS.map(([name]) => [name, { type: 'string' as const }])),
      },
    }));
  } catch (e) {
    const err = e as Error & { code?: string };
    const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && /'([^']+)'/.exec(err.message);
    throw new UsageError(unknown ? `unknown option ${unknown[1]}` : err.message);
  }
  if (values.help) return { help: true };

  if (values.browser && values.node) throw new UsageError('--browser and --node exclude each other: choose one');
  const mode: Mode = values.node ? 'node' : 'browser';
  const hospitals = values.hospitals === undefined ? null : positiveInteger('hospitals', values.hospitals as string);
  const backend = values.backend === undefined ? null : backendFor(mode, values.backend as string);
  const data = values.data === undefined ? null : callerPath(values.data as string);
  if (data) {
    for (const name of ['format', 'slices-per-hospital', 'seed', 'difficulty']) {
      if (values[name] !== undefined) throw new UsageError(`--${name} is for generated data and cannot be used with --data`);
    }
  }
  const format = (values.format as string | undefined) ?? 'png';
  if (format !== 'png' && format !== 'dicom') throw new UsageError(`--format expects png or dicom, got '${format}'`);
  const difficulty = (values.difficulty as string | undefined) ?? 'hard';
  if (difficulty !== 'hard' && difficulty !== 'easy') throw new UsageError(`--difficulty expects hard or easy, got '${difficulty}'`);
  if (values.headed && mode === 'node') throw new UsageError('--headed shows browser windows and needs --browser');

  const studyArgs = STUDY_FLAGS.flatMap(([name]) => (values[name] === undefined ? [] : [`--${name}`, values[name] as string]));
  // The server's own parser checks the values (and flags that need another), with its messages.
  const checked = parseCli(studyArgs, {});
  if (!checked.ok) throw new UsageError(checked.help ? 'unexpected --help' : checked.error.replace(/ \(see --help\)$/, ''));
  const minClients = valueAt(checked.options.federation, 'minClients') as number | undefined;
  if (minClients !== undefined && hospitals !== null && minClients > hospitals) {
    throw new UsageError(`--min-clients ${minClients} is more than --hospitals ${hospitals}: no round could start`);
  }

  return {
    help: false,
    options: {
      mode,
      hospitals,
      backend: backend ?? (mode === 'node' ? 'wasm' : null),
      data,
      generate: {
        format,
        slicesPerHospital: values['slices-per-hospital'] === undefined ? 120 : positiveInteger('slices-per-hospital', values['slices-per-hospital'] as string),
        seed: values.seed === undefined ? 1 : integer('seed', values.seed as string),
        difficulty,
      },
      headed: values.headed === true,
      out: values.out === undefined ? resolve(repoRoot, 'bench-results', `federate-${stamp(now)}`) : callerPath(values.out as string),
      timeoutMs: (values['timeout-min'] === undefined ? 60 : positiveNumber('timeout-min', values['timeout-min'] as string)) * 60_000,
      studyArgs,
      study: checked.options.federation as Record<string, unknown>,
    },
  };
}

function backendFor(mode: Mode, name: string): Backend {
  const allowed: readonly string[] = mode === 'node' ? NODE_BACKENDS : BROWSER_BACKENDS;
  if (allowed.includes(name)) return name as Backend;
  if (mode === 'node' && (BROWSER_BACKENDS as readonly string[]).includes(name)) {
    throw new UsageError(`--backend ${name} exists only in a browser: with --node use ${NODE_BACKENDS.join(' or ')}`);
  }
  throw new UsageError(`--backend expects one of ${allowed.join(', ')}, got '${name}'`);
}

function integer(name: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--${name} expects an integer, got '${raw}'`);
  return n;
}

function positiveInteger(name: string, raw: string): number {
  const n = integer(name, raw);
  if (n < 1) throw new UsageError(`--${name} expects a positive integer, got '${raw}'`);
  return n;
}

function positiveNumber(name: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} expects a positive number, got '${raw}'`);
  return n;
}

/** `defaults`: the settings a new study gets from the server (DEFAULT_FEDERATION with the privacy defaults). */
export function helpText(defaults: object): string {
  const row = (left: string, help: string, def: string | undefined) => `  ${left.padEnd(34)} ${help}${def === undefined ? '' : ` (default ${def})`}`;
  const tool = Object.entries(TOOL).map(([name, o]) => row(`${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` <${o.arg}>` : ''}`, o.help, o.default));
  const study = STUDY_FLAGS.map(([name, f]) => {
    // The server needs min-clients hospitals before a round starts: here they are all of them.
    const stored = name === 'min-clients' ? undefined : valueAt(defaults, f.setting!);
    const def = name === 'min-clients' ? 'the number of hospitals' : stored === undefined ? undefined : f.kind!.show(stored);
    return row(`    --${name} <${f.arg}>`, f.help, def);
  });
  return [
    'Usage: npm run federate -- [--browser | --node] [--hospitals n] [options] [study options]',
    '',
    'Runs a whole Fedward federation on this computer: a server on 127.0.0.1 with a temporary database,',
    'one hospital per --hospitals (Chromium pages, or Node clients with --node) and the admin dashboard,',
    'until the study ends; then writes report.md, report.json and SVG charts to --out.',
    'Exit codes: 0 finished, 1 the federation failed or timed out, 2 a bad option.',
    '',
    'Options:',
    ...tool,
    '',
    'Study options (passed to the Fedward server unchanged; see server/src/main.ts --help):',
    ...study,
    '',
  ].join('\n');
}
