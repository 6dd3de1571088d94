import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);

/**
 * Bundles a browser page (one TS entry) into `outDir` with tfjs-backend-wasm's
 * .wasm files beside it and an index.html that loads it; the page sets
 * `document.title = 'ready'` once its functions are on `window`. Serve it with
 * `serveIsolated` so that the wasm backend gets threads.
 */
export async function buildPage(entry: string, outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(outDir, 'main.js'),
    logLevel: 'error',
  });
  const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const file of await readdir(wasmDist)) {
    if (file.endsWith('.wasm')) await copyFile(path.join(wasmDist, file), path.join(outDir, file));
  }
  await writeFile(path.join(outDir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="main.js"></script>\n');
}
