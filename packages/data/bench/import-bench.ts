/**
 * npm run bench:import [-- --slices 2000 --size 128 --target-size 64 --runs 3 --breakdown --profile --read-ahead N] [--node]
 *
 * Default: headless Chromium (Debian's /usr/bin/chromium; --chromium PATH or
 * CHROMIUM_PATH to change), real IndexedDB, the folder picked through a real
 * file input, the import in a Web Worker as in the hospital app; prints
 * slices/s and peak memory. See browser-bench.ts.
 * --node: the same importFiles() in Node against fake-indexeddb (node-bench.ts).
 * --read-ahead N: importFiles' read-ahead (files read while one is decoded).
 * --profile: CPU-profile the import worker and print the functions that took its time.
 * --breakdown: after the timed runs, time each import stage alone (decode,
 * window, resize, hash, file reads, IndexedDB writes).
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    node: { type: 'boolean', default: false },
    slices: { type: 'string', default: '2000' },
    size: { type: 'string', default: '128' },
    'target-size': { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    breakdown: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'read-ahead': { type: 'string' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
  },
});
const positive = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${v})`);
  return n;
};
if (values.profile && values.breakdown) throw new Error('--profile and --breakdown each need their own run (the breakdown pass would land in the profile)');
const common = { slices: positive('slices', values.slices), size: positive('size', values.size), targetSize: positive('target-size', values['target-size']) };

const ok = values.node
  ? await (await import('./node-bench')).runNodeBench(common)
  : await (await import('./browser-bench')).runBrowserBench({
      ...common,
      runs: positive('runs', values.runs),
      breakdown: values.breakdown,
      profile: values.profile,
      ...(values['read-ahead'] === undefined ? {} : { readAhead: Number(values['read-ahead']) }),
      chromiumPath: values.chromium,
    });
if (!ok) process.exitCode = 1;
