/**
 * Node version of the import benchmark (`npm run bench:import -- --node`):
 * generates the slices in memory, imports them through importFiles() into
 * IndexedDB provided by fake-indexeddb, and prints slices/s and peak memory.
 * Loaded only with --node: importing it installs fake-indexeddb globally.
 */
import 'fake-indexeddb/auto';
import { federationFiles } from '../src/federation-files';
import { importFiles, type ImportFile } from '../src/import';
import { deleteSliceStore, openSliceStore } from '../src/store';

export interface NodeBenchOptions {
  slices: number;
  size: number;
  targetSize: number;
}

export async function runNodeBench({ slices, size, targetSize }: NodeBenchOptions): Promise<boolean> {
  const files: ImportFile[] = [];
  let inputBytes = 0;
  for (const f of federationFiles({ hospitals: 1, task: 'classification', size, slicesPerHospital: slices, seed: 'bench' }, 'dicom')) {
    if (!f.relativePath.endsWith('.dcm')) continue;
    const bytes = f.bytes;
    inputBytes += bytes.length;
    files.push({ name: f.relativePath.split('/').pop() ?? '', relativePath: `bench/${f.relativePath}`, bytes: async () => bytes, size: bytes.length });
  }

  const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
  globalThis.gc?.();
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed + baseline.arrayBuffers;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  };

  await deleteSliceStore('fedward-bench');
  const store = await openSliceStore('fedward-bench');
  const started = performance.now();
  const result = await importFiles(files, { store, targetSize, onProgress: sample, skipQuotaCheck: true });
  const seconds = (performance.now() - started) / 1000;
  sample();

  const summary = result.summary;
  store.close();
  await deleteSliceStore('fedward-bench');

  const rate = result.imported / seconds;
  process.stdout.write(
    [
      `import-bench --node (Node ${process.version}, fake-indexeddb in memory; the default mode is headless Chromium)`,
      `input: ${files.length} DICOM files, ${size}x${size} 16-bit, ${(inputBytes / 1e6).toFixed(1)} MB, stored at ${targetSize}x${targetSize}`,
      `imported ${result.imported} slices (${result.failed.length} failed) in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} slices/s (goal >= 500)`,
      `summary: ${JSON.stringify(summary.labels)}, ${summary.patientCount} patients, ${summary.batches} batches`,
      `memory: peak RSS ${mib(peakRss)} MiB (baseline ${mib(baseline.rss)} MiB, includes the in-memory input files and fake-indexeddb's in-memory database); peak JS heap + ArrayBuffers ${mib(peakHeap)} MiB (baseline ${mib(baseline.heapUsed + baseline.arrayBuffers)} MiB)`,
    ].join('\n') + '\n',
  );
  return result.imported === slices && result.failed.length === 0;
}
