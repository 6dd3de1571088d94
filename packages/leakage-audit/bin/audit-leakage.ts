/**
 * npm run audit:leakage -- --model small-cnn --images 2 --local-steps 4 --restarts 3 --iterations N --defence none|dp [--json]
 *
 * A demo hospital trains the product's model on 1–2 demo slices (ModelEngine.trainEpoch, the
 * product's 'sgd' optimizer, one step per local epoch on the whole batch); the attacker sees the
 * update Δ (undefended, or as the DP release of a round with that one update) and inverts it.
 * Writes originals and reconstructions as PNG plus result.json to --out; with --json prints the
 * summary as the last line of stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createModel, MemoryDataset, SGD_WEIGHT_DECAY } from '@fedward/models';
import type { ModelSpec } from '@fedward/protocol';
import { registerWasmTrainingKernels } from '@fedward/wasm-training';
import {
  DEFENCES,
  IMPLEMENTED_DEFENCES,
  assertSmallCnn,
  clientDpRelease,
  demoImages,
  invert,
  matchMoments,
  paramsFromWeights,
  psnr,
  ssim,
  type Defence,
  type InvertResult,
  type LocalTraining,
} from '../src/index';

const HELP = `usage: npm run audit:leakage -- [options]
  --model <kind>          model to attack (small-cnn; others: not yet)            (default small-cnn)
  --images <n>            demo slices the hospital trains on, 1 or 2               (default 2)
  --local-steps <n>       local SGD steps (one per local epoch on the batch)       (default 4)
  --restarts <n>          attack restarts, the best by objective is kept           (default 3)
  --iterations <n>        attack iterations per restart                            (default 300)
  --defence <d>           none | dp (secagg, dp-sgd, precode: not yet)             (default none)
  --z <z>                 dp: noise multiplier                                     (default 1, the product's)
  --clip <C>              dp: clip bound                                           (default 1, the product's)
  --delta <δ>             dp: δ of the per-patient ε                               (default 1e-5)
  --input-size <px>       image side                                               (default 32, the demo task's)
  --lr <rate>             hospital learning rate                                   (default 0.01, the demo task's)
  --attack-lr <rate>      attack Adam step size, [0, 1] pixel units                (default 0.1)
  --tv <α>                total-variation weight                                   (default 0.01)
  --signed                Adam on sign(∇R) as the seed configures it (default: on ∇R, stronger here)
  --seed <n>              attack seed                                              (default 1)
  --backend <b>           wasm | cpu                                               (default wasm, falls back to cpu)
  --out <dir>             where the PNGs and result.json go                        (default bench-results/leakage-<time>)
  --json                  print the summary JSON as the last line
  -h, --help`;

class UsageError extends Error {}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: 'small-cnn' },
      images: { type: 'string', default: '2' },
      'local-steps': { type: 'string', default: '4' },
      restarts: { type: 'string', default: '3' },
      iterations: { type: 'string', default: '300' },
      defence: { type: 'string', default: 'none' },
      z: { type: 'string', default: '1' },
      clip: { type: 'string', default: '1' },
      delta: { type: 'string', default: '1e-5' },
      'input-size': { type: 'string', default: '32' },
      lr: { type: 'string', default: '0.01' },
      'attack-lr': { type: 'string', default: '0.1' },
      tv: { type: 'string', default: '0.01' },
      signed: { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      backend: { type: 'string', default: 'wasm' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const num = (name: keyof typeof values, check: (v: number) => boolean, what: string) => {
    const v = Number(values[name]);
    if (!check(v)) throw new UsageError(`--${name}: ${what} (got ${String(values[name])})`);
    return v;
  };
  const int = (v: number) => Number.isInteger(v) && v >= 1;
  const pos = (v: number) => Number.isFinite(v) && v > 0;
  const defence = values.defence as Defence;
  if (!DEFENCES.includes(defence)) throw new UsageError(`--defence: one of ${DEFENCES.join(', ')} (got ${values.defence})`);
  if (!IMPLEMENTED_DEFENCES.includes(defence)) throw new UsageError(`--defence ${defence}: not yet (issue 18 measures ${IMPLEMENTED_DEFENCES.join(' and ')} so far)`);
  if (values.model !== 'small-cnn') throw new UsageError(`--model ${values.model}: not yet (the audit simulates the small CNN only so far)`);
  if (values.backend !== 'wasm' && values.backend !== 'cpu') throw new UsageError(`--backend: wasm or cpu (got ${values.backend})`);
  return {
    help: values.help,
    model: values.model,
    images: num('images', (v) => v === 1 || v === 2, '1 or 2'),
    localSteps: num('local-steps', int, 'a positive integer'),
    restarts: num('restarts', int, 'a positive integer'),
    iterations: num('iterations', int, 'a positive integer'),
    defence,
    z: num('z', pos, 'a positive number'),
    clip: num('clip', pos, 'a positive number'),
    delta: num('delta', (v) => v > 0 && v < 1, 'in (0, 1)'),
    inputSize: num('input-size', (v) => int(v) && v >= 11 && v <= 256, 'an integer in 11..256 (SSIM needs 11)'),
    lr: num('lr', pos, 'a positive number'),
    attackLr: num('attack-lr', pos, 'a positive number'),
    tv: num('tv', (v) => v >= 0, 'a number ≥ 0'),
    signed: values.signed,
    seed: num('seed', Number.isInteger, 'an integer'),
    backend: values.backend as 'wasm' | 'cpu',
    out: values.out ?? join('bench-results', `leakage-${new Date().toISOString().replace(/[:.]/g, '-')}`),
    json: values.json,
  };
}

async function startBackend(wanted: 'wasm' | 'cpu'): Promise<string> {
  if (wanted === 'wasm') {
    try {
      const require = createRequire(import.meta.url);
      setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + sep);
      registerWasmTrainingKernels();
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return 'wasm';
      }
    } catch {
      // fall through to cpu
    }
  }
  await tf.setBackend('cpu');
  return 'cpu';
}

/** An 8-bit grayscale PNG (zlib from node:zlib), `scale`× nearest-neighbour enlarged. */
function grayPng(values: ArrayLike<number>, width: number, height: number, scale = 1): Buffer {
  const w = width * scale;
  const h = height * scale;
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = values[Math.floor(y / scale) * width + Math.floor(x / scale)]!;
      raw[y * (w + 1) + 1 + x] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (o.help) {
    console.log(HELP);
    return;
  }
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const backend = await startBackend(o.backend);
  const size = o.inputSize;
  const area = size * size;
  const spec: ModelSpec = { kind: 'small-cnn', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
  const training: LocalTraining = { learningRate: o.lr, steps: o.localSteps, weightDecay: SGD_WEIGHT_DECAY, normalization: 'zscore' };
  const { x, labels } = demoImages(o.images, size);
  log(`leakage audit: ${o.model} ${size}×${size}, ${o.images} demo image(s) (labels ${Array.from(labels).join(', ')}), ${o.localSteps} local SGD steps at lr ${o.lr}, defence ${o.defence}, backend ${backend}`);

  // The hospital: the product's own engine and optimizer, on the slices as it normalises them.
  const engine = createModel(spec);
  const global = engine.getWeights();
  assertSmallCnn(spec, global);
  const samples = Array.from(labels, (label, i) => {
    const v = x.slice(i * area, (i + 1) * area);
    const mean = v.reduce((a, b) => a + b, 0) / area;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / area) || 1;
    return { x: v.map((p) => (p - mean) / sd), label };
  });
  const data = new MemoryDataset(samples);
  for (let epoch = 0; epoch < o.localSteps; epoch++) {
    const run = engine.trainEpoch(data, { epoch, batchSize: 16, learningRate: o.lr, optimizer: 'sgd' });
    while (!(await run.next()).done);
  }
  const local = engine.getWeights();
  engine.dispose();
  let delta: Float32Array[] = local.map((w, i) => Float32Array.from(w.values, (v, k) => v - global[i]!.values[k]!));

  // The defence: what the attacker sees instead of Δ.
  let dp: { z: number; clip: number; delta: number; epsilon_patient: number; sigma: number; update_norm: number } | null = null;
  if (o.defence === 'dp') {
    const r = clientDpRelease(delta, { noiseMultiplier: o.z, clip: o.clip, delta: o.delta });
    delta = r.delta;
    dp = { z: o.z, clip: o.clip, delta: o.delta, epsilon_patient: r.epsilon, sigma: r.sigma, update_norm: r.norm };
    log(`dp: ‖Δ‖ = ${r.norm.toPrecision(3)} clipped to C = ${o.clip}, noise σ = ${r.sigma.toPrecision(3)} per coordinate (z = ${o.z}); ε per patient for this one round = ${r.epsilon.toFixed(2)} at δ = ${o.delta}`);
  }

  // The attacker.
  const params = paramsFromWeights(global);
  const observed = delta.map((d, i) => tf.tensor(d, global[i]!.shape));
  const attack = invert({
    params,
    observed,
    labels,
    shape: [o.images, size, size, 1],
    numClasses: 2,
    training,
    iterations: o.iterations,
    restarts: o.restarts,
    learningRate: o.attackLr,
    tvWeight: o.tv,
    seed: o.seed,
    signed: o.signed,
  });
  let step = await attack.next();
  const every = Math.max(1, Math.round(o.iterations / 5));
  while (!step.done) {
    const p = step.value;
    if (p.iteration % every === 0) log(`restart ${p.restart + 1}/${o.restarts} iteration ${p.iteration}/${p.iterations}: R = ${p.loss.toFixed(4)}`);
    step = await attack.next();
  }
  const result: InvertResult = step.value;
  tf.dispose([...params, ...observed]);

  // Metrics: on the reconstruction given each original's mean and sd (zscore hides them; see matchMoments).
  mkdirSync(o.out, { recursive: true });
  const perImage = Array.from(labels, (_, i) => {
    const original = x.subarray(i * area, (i + 1) * area);
    const raw = result.images.subarray(i * area, (i + 1) * area);
    const matched = matchMoments(raw, original);
    const start = matchMoments(result.initial.subarray(i * area, (i + 1) * area), original);
    writeFileSync(join(o.out, `original-${i}.png`), grayPng(original, size, size, 4));
    writeFileSync(join(o.out, `reconstruction-${i}.png`), grayPng(matched, size, size, 4));
    writeFileSync(join(o.out, `reconstruction-raw-${i}.png`), grayPng(raw, size, size, 4));
    return {
      psnr: psnr(matched, original),
      ssim: ssim(matched, original, size, size),
      psnrRaw: psnr(raw, original),
      psnrStart: psnr(start, original),
    };
  });
  const seconds = (Date.now() - started) / 1000;
  const summary = {
    defence: o.defence,
    images: o.images,
    psnr_db: perImage.map((m) => Number(m.psnr.toFixed(2))),
    ssim: perImage.map((m) => Number(m.ssim.toFixed(4))),
    restarts: o.restarts,
  };
  const full = {
    ...summary,
    model: o.model,
    input_size: size,
    labels: Array.from(labels),
    local_steps: o.localSteps,
    learning_rate: o.lr,
    optimizer: 'sgd',
    iterations: o.iterations,
    attack: { learning_rate: o.attackLr, tv: o.tv, signed: o.signed, seed: o.seed, objective: result.loss, restart_objectives: result.restartLosses },
    psnr_raw_db: perImage.map((m) => Number(m.psnrRaw.toFixed(2))),
    psnr_random_start_db: perImage.map((m) => Number(m.psnrStart.toFixed(2))),
    metric_note: "psnr_db/ssim: the reconstruction with each original's mean and sd (the zscore input hides them); psnr_raw_db: as optimised in [0, 1]",
    dp,
    backend,
    seconds,
  };
  writeFileSync(join(o.out, 'result.json'), `${JSON.stringify(full, null, 2)}\n`);
  log(`best objective ${result.loss.toFixed(4)} (restarts: ${result.restartLosses.map((l) => l.toFixed(4)).join(', ')})`);
  perImage.forEach((m, i) =>
    log(`image ${i}: PSNR ${m.psnr.toFixed(2)} dB (random start ${m.psnrStart.toFixed(2)} dB, raw ${m.psnrRaw.toFixed(2)} dB), SSIM ${m.ssim.toFixed(3)}`),
  );
  log(`wrote ${o.out} in ${seconds.toFixed(1)} s`);
  if (o.json) console.log(JSON.stringify(summary));
}

main().catch((e: unknown) => {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`audit:leakage: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
