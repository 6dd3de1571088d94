/**
 * npm run -s generate-federation -- --out DIR [--hospitals 3] [--format dicom|png]
 *   [--task classification|segmentation] [--size 64] [--slices-per-hospital 120] [--seed 1] [--difficulty hard|easy]
 */
import { parseArgs } from 'node:util';
import { generateFederation } from '../src/node/generate';
import type { FederationFormat } from '../src/federation-files';
import type { FederationTask } from '../src/federation';

const usage =
  'usage: generate-federation --out DIR [--hospitals 3] [--format dicom|png] [--task classification|segmentation] ' +
  '[--size 64] [--slices-per-hospital 120] [--seed 1] [--difficulty hard|easy]\n' +
  '  --difficulty hard (default): small low-contrast lesions and strongly shifted scanners;\n' +
  '               easy: large bright lesions and mild shifts, learned in a round or two';

function fail(message: string): never {
  process.stderr.write(`generate-federation: ${message}\n${usage}\n`);
  process.exit(2);
}

function integer(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n)) fail(`--${name} must be an integer (got "${text}")`);
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      out: { type: 'string' },
      hospitals: { type: 'string', default: '3' },
      format: { type: 'string', default: 'dicom' },
      task: { type: 'string', default: 'classification' },
      size: { type: 'string', default: '64' },
      'slices-per-hospital': { type: 'string', default: '120' },
      seed: { type: 'string', default: '1' },
      difficulty: { type: 'string', default: 'hard' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message);
}
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (!values.out) fail('--out DIR is required');
if (values.format !== 'dicom' && values.format !== 'png') fail(`--format must be dicom or png (got "${values.format}")`);
if (values.task !== 'classification' && values.task !== 'segmentation')
  fail(`--task must be classification or segmentation (got "${values.task}")`);
if (values.difficulty !== 'hard' && values.difficulty !== 'easy') fail(`--difficulty must be hard or easy (got "${values.difficulty}")`);

const started = performance.now();
try {
  const result = await generateFederation({
    outDir: values.out,
    format: values.format as FederationFormat,
    task: values.task as FederationTask,
    difficulty: values.difficulty,
    hospitals: integer('hospitals', values.hospitals),
    size: integer('size', values.size),
    slicesPerHospital: integer('slices-per-hospital', values['slices-per-hospital']),
    seed: values.seed,
  });
  const seconds = (performance.now() - started) / 1000;
  for (const h of result.hospitals) process.stdout.write(`${h.id}: ${h.files.length} files in ${h.dir}\n`);
  process.stdout.write(`wrote ${result.files.length} files to ${result.outDir} in ${seconds.toFixed(1)} s (see federation.json)\n`);
} catch (e) {
  fail((e as Error).message);
}
