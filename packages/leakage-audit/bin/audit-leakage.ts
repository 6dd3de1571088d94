/**
 * npm run audit:leakage -- --model small-cnn --images 2 --local-steps 4 --restarts 3 --iterations N --defence none|dp|secagg|dp-sgd|precode [--diagnose] [--json]
 *
 * A demo hospital trains the product's model on 1–2 demo slices (ModelEngine.trainEpoch, the
 * product's 'sgd' optimizer, one step per local epoch on the whole batch); the attacker sees the
 * update Δ (undefended; the DP release of a round with that one update; the secagg sum of n
 * hospitals' updates; or the update of DP-SGD training) and inverts it with the same budget.
 * precode (= --model small-cnn-vb, alone or under dp, secagg or dp-sgd): the hospital trains small-cnn-vb, PRECODE's variational
 * bottleneck, with ε from its CSPRNG that it never reveals; the attacker inverts the update with
 * its copy of that model (simulate-vb.ts) and ε = 0 ('mean') or its own draws in their place.
 * Writes originals and reconstructions as PNG plus result.json to --out; with --json prints the
 * summary as the last line of stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { createModel, SGD_WEIGHT_DECAY } from '@fedward/models';
import { VB_DEFAULTS, type ModelSpec, type NamedTensor } from '@fedward/protocol';
import { nodeTrainingBackend } from '@fedward/wasm-training/node';
import {
  DEFENCES,
  IMPLEMENTED_DEFENCES,
  assertSmallCnn,
  assertSmallCnnVb,
  demoImages,
  diagnose,
  invert,
  matchMoments,
  observedUpdate,
  matchingLoss,
  warmStartProbe,
  paramsFromWeights,
  psnr,
  seededDraws,
  ssim,
  vbSimulation,
  type AttackerNoise,
  type Defence,
  type InvertResult,
  type LocalTraining,
} from '../src/index';

const HELP = `usage: npm run audit:leakage -- [options]
  --model <kind>          model to attack: small-cnn, or small-cnn-vb (PRECODE: the same
                          as --defence precode, or under --defence dp, secagg or
                          dp-sgd, PRECODE combined with it); others: not yet       (default small-cnn)
  --images <n>            demo slices the hospital trains on, 1 or 2               (default 2)
  --local-steps <n>       local SGD steps (one per local epoch on the batch)       (default 4)
  --restarts <n>          attack restarts, the best by objective is kept           (default 3)
  --iterations <n>        attack iterations per restart                            (default 300)
  --defence <d>           none | dp | secagg | dp-sgd | precode                    (default none)
  --z <z>                 dp: noise multiplier z (the product's default 1);
                          dp-sgd: σ (the README's DP-SGD accuracy arm, 1)          (default 1)
  --clip <C>              dp: clip bound; dp-sgd: per-patient clip bound           (default 1, the product's)
  --delta <δ>             dp, dp-sgd: δ of the per-patient ε                       (default 1e-5)
  --hospitals <n>         secagg: hospitals in the sum (the others train on other
                          demo hospitals' slices of the same task)                 (default 3)
  --vb-beta <β>           precode: weight β of the bottleneck's KL term            (default ${VB_DEFAULTS.beta}, PRECODE's)
  --vb-k <K>              precode: latent dimensions K of the bottleneck           (default ${VB_DEFAULTS.k})
  --vb-attacker <a>       precode: what the attacker puts in place of the hospital's
                          unknown ε: mean (ε = 0, z = μ) or draws (its own N(0, I),
                          fresh each step, seeded by --seed)                       (default mean)
  --diagnose              also measure which pixels move Δ at all and run the attack
                          once from the true images plus noise (diagnostics)
  --input-size <px>       image side, ≥ 8 (SSIM: 11-tap window, 7-tap below 11)    (default 32, the demo task's)
  --lr <rate>             hospital learning rate                                   (default 0.01, the demo task's)
  --attack-lr <rate>      attack Adam step size, [0, 1] pixel units                (default 0.1)
  --tv <α>                total-variation weight                                   (default 0.01)
  --signed                Adam on sign(∇R) as the seed configures it               (default: on ∇R, stronger here)
  --homotopy <t0>         small CNN only: the attacker's ReLUs and max pools start
                          smooth at temperature t0 and cool to the exact model by
                          --homotopy-until of each restart's iterations            (default off)
  --homotopy-until <f>    fraction of the iterations at which the cooling ends     (default 0.75)
  --seed <n>              attack seed                                              (default 1)
  --backend <b>           wasm | cpu                                               (default wasm, falls back to cpu)
  --out <dir>             where the PNGs and result.json go                        (default bench-results/leakage-<time>)
  --json                  print the summary JSON as the last line
  -h, --help`;

class UsageError extends Error {}

/** Noise std of the diagnostic's start next to the true images (≈ 36 dB PSNR on the demo slices). */
const WARM_START_NOISE = 0.02;

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      images: { type: 'string', default: '2' },
      'local-steps': { type: 'string', default: '4' },
      restarts: { type: 'string', default: '3' },
      iterations: { type: 'string', default: '300' },
      defence: { type: 'string', default: 'none' },
      z: { type: 'string', default: '1' },
      clip: { type: 'string', default: '1' },
      delta: { type: 'string', default: '1e-5' },
      hospitals: { type: 'string', default: '3' },
      'vb-beta': { type: 'string' },
      'vb-k': { type: 'string' },
      'vb-attacker': { type: 'string' },
      diagnose: { type: 'boolean', default: false },
      'input-size': { type: 'string', default: '32' },
      lr: { type: 'string', default: '0.01' },
      'attack-lr': { type: 'string', default: '0.1' },
      tv: { type: 'string', default: '0.01' },
      signed: { type: 'boolean', default: false },
      homotopy: { type: 'string' },
      'homotopy-until': { type: 'string' },
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
  let defence = values.defence as Defence;
  if (!DEFENCES.includes(defence)) throw new UsageError(`--defence: one of ${DEFENCES.join(', ')} (got ${values.defence})`);
  if (!IMPLEMENTED_DEFENCES.includes(defence)) throw new UsageError(`--defence ${defence}: not yet (issue 18 measures ${IMPLEMENTED_DEFENCES.join(', ')} so far)`);
  // PRECODE is a model, small-cnn-vb: --model small-cnn-vb and --defence precode say the same
  // (its update sent as it is); --model small-cnn-vb with --defence dp, secagg or dp-sgd puts
  // that release on top of the bottleneck.
  const model = values.model ?? (defence === 'precode' ? 'small-cnn-vb' : 'small-cnn');
  if (model === 'small-cnn-vb') {
    if (defence === 'none') defence = 'precode';
  } else if (model !== 'small-cnn') throw new UsageError(`--model ${model}: not yet (the audit simulates small-cnn and small-cnn-vb so far)`);
  else if (defence === 'precode') throw new UsageError('--defence precode trains small-cnn-vb: not with --model small-cnn');
  for (const flag of ['vb-beta', 'vb-k', 'vb-attacker'] as const)
    if (values[flag] !== undefined && model !== 'small-cnn-vb') throw new UsageError(`--${flag}: for --defence precode (--model small-cnn-vb) only`);
  const vbAttacker = values['vb-attacker'] ?? 'mean';
  if (vbAttacker !== 'mean' && vbAttacker !== 'draws') throw new UsageError(`--vb-attacker: mean or draws (got ${vbAttacker})`);
  if (values.backend !== 'wasm' && values.backend !== 'cpu') throw new UsageError(`--backend: wasm or cpu (got ${values.backend})`);
  if (values['homotopy-until'] !== undefined && values.homotopy === undefined) throw new UsageError('--homotopy-until: with --homotopy only');
  if (values.homotopy !== undefined && model !== 'small-cnn') throw new UsageError('--homotopy: for the small CNN only (its smooth ReLUs and pools)');
  return {
    help: values.help,
    model,
    images: num('images', (v) => v === 1 || v === 2, '1 or 2'),
    localSteps: num('local-steps', int, 'a positive integer'),
    restarts: num('restarts', int, 'a positive integer'),
    iterations: num('iterations', int, 'a positive integer'),
    defence,
    z: num('z', pos, 'a positive number'),
    clip: num('clip', pos, 'a positive number'),
    delta: num('delta', (v) => v > 0 && v < 1, 'in (0, 1)'),
    hospitals: num('hospitals', (v) => int(v) && v >= 2, 'an integer ≥ 2'),
    vbBeta: values['vb-beta'] === undefined ? VB_DEFAULTS.beta : num('vb-beta', (v) => Number.isFinite(v) && v >= 0 && v <= 10, 'a number in [0, 10]'),
    vbK: values['vb-k'] === undefined ? VB_DEFAULTS.k : num('vb-k', (v) => int(v) && v <= 4096, 'an integer in 1..4096'),
    vbAttacker: vbAttacker as 'mean' | 'draws',
    diagnose: values.diagnose,
    inputSize: num('input-size', (v) => int(v) && v >= 8 && v <= 256, 'an integer in 8..256'),
    lr: num('lr', pos, 'a positive number'),
    attackLr: num('attack-lr', pos, 'a positive number'),
    tv: num('tv', (v) => v >= 0, 'a number ≥ 0'),
    signed: values.signed,
    homotopy: values.homotopy === undefined ? undefined : {
      temperature: num('homotopy', pos, 'a positive temperature'),
      until: values['homotopy-until'] === undefined ? 0.75 : num('homotopy-until', (v) => v > 0 && v <= 1, 'in (0, 1]'),
    },
    seed: num('seed', Number.isInteger, 'an integer'),
    backend: values.backend as 'wasm' | 'cpu',
    out: values.out ?? join('bench-results', `leakage-${new Date().toISOString().replace(/[:.]/g, '-')}`),
    json: values.json,
  };
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

/** What the attacker sees instead of the target hospital's Δ (observedUpdate), and what the defence reports. */
async function observe(o: ReturnType<typeof parse>, spec: ModelSpec, global: NamedTensor[], x: Float32Array, labels: Int32Array, log: (line: string) => void) {
  const dp = { noiseMultiplier: o.z, clip: o.clip, delta: o.delta };
  // createModel(spec): the product's small-cnn-vb, ε from the CSPRNG, as a hospital trains it.
  if (spec.kind === 'small-cnn-vb')
    log(`precode: the hospital trains small-cnn-vb (β = ${o.vbBeta}, K = ${o.vbK}) with ε from its CSPRNG; the attacker simulates it with ${o.vbAttacker === 'mean' ? 'ε = 0 (z = μ)' : `its own ε draws (seed ${o.seed})`}${o.defence === 'precode' ? '' : `, under ${o.defence}`}`);
  const { delta, epsilon, release } = await observedUpdate(o.defence, { images: o.images, localSteps: o.localSteps, learningRate: o.lr, dp, dpSgd: dp, hospitals: o.hospitals }, spec, global, x, labels);
  switch (o.defence) {
    case 'none':
      return { delta, report: null };
    case 'dp': {
      const r = release!;
      log(`dp: ‖Δ‖ = ${r.norm.toPrecision(3)} clipped to C = ${o.clip}, noise σ = ${r.sigma.toPrecision(3)} per coordinate (z = ${o.z}); ε per patient for this one round = ${r.epsilon.toFixed(2)} at δ = ${o.delta}`);
      return { delta, report: { z: o.z, clip: o.clip, delta: o.delta, epsilon_patient: r.epsilon, sigma: r.sigma, update_norm: r.norm } };
    }
    case 'secagg':
      log(`secagg: the attacker sees the sum of ${o.hospitals} hospitals' updates (the unmasked secagg sum equals the plain sum: the masks cancel)`);
      return { delta, report: { hospitals: o.hospitals } };
    case 'dp-sgd':
      log(`dp-sgd: ${o.localSteps} steps of per-patient clipping to C = ${o.clip} and noise σ = ${o.z} (q = 1); ε per patient = ${epsilon!.toFixed(2)} at δ = ${o.delta} (the attacker simulates plain SGD)`);
      return { delta, report: { noise_multiplier: o.z, clip: o.clip, delta: o.delta, epsilon_patient: epsilon!, sampling: 'poisson', accountant: 'rdp' } };
    case 'precode':
      return { delta, report: { beta: o.vbBeta, k: o.vbK, attacker_noise: o.vbAttacker } };
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (o.help) {
    console.log(HELP);
    return;
  }
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const backend = await nodeTrainingBackend(o.backend);
  const size = o.inputSize;
  const area = size * size;
  const precode = o.model === 'small-cnn-vb';
  const spec: ModelSpec = {
    kind: precode ? 'small-cnn-vb' : 'small-cnn',
    inputSize: size,
    channels: 1,
    numClasses: 2,
    seed: 42,
    normalization: 'zscore',
    ...(precode && { vb: { beta: o.vbBeta, k: o.vbK } }),
  };
  const training: LocalTraining = { learningRate: o.lr, steps: o.localSteps, weightDecay: SGD_WEIGHT_DECAY, normalization: 'zscore' };
  const { x, labels } = demoImages(o.images, size);
  log(`leakage audit: ${o.model} ${size}×${size}, ${o.images} demo image(s) (labels ${Array.from(labels).join(', ')}), ${o.localSteps} local SGD steps at lr ${o.lr}, defence ${o.defence}, backend ${backend}`);

  // The hospital trains on the product's own engine; the defence decides what the attacker sees.
  const global = createModel(spec);
  const globalWeights = global.getWeights();
  global.dispose();
  if (precode) assertSmallCnnVb(spec, globalWeights);
  else assertSmallCnn(spec, globalWeights);
  const { delta, report } = await observe(o, spec, globalWeights, x, labels, log);
  // precode: the attacker's copy of small-cnn-vb with its stand-in for the hospital's ε.
  const attackerNoise: AttackerNoise = o.vbAttacker === 'mean' ? 'mean' : { draws: seededDraws(o.seed) };
  const simulate = precode ? vbSimulation(spec, attackerNoise) : undefined;

  // The attacker: the same budget whatever the defence.
  const params = paramsFromWeights(globalWeights);
  const observed = delta.map((d, i) => tf.tensor(d, globalWeights[i]!.shape));
  const shape: [number, number, number, number] = [o.images, size, size, 1];
  const attack = invert({
    params,
    observed,
    labels,
    shape,
    numClasses: 2,
    training,
    ...(simulate && { simulate }),
    iterations: o.iterations,
    restarts: o.restarts,
    learningRate: o.attackLr,
    tvWeight: o.tv,
    seed: o.seed,
    signed: o.signed,
    ...(o.homotopy && { homotopy: o.homotopy }),
  });
  let step = await attack.next();
  const every = Math.max(1, Math.round(o.iterations / 5));
  while (!step.done) {
    const p = step.value;
    if (p.iteration % every === 0) log(`restart ${p.restart + 1}/${o.restarts} iteration ${p.iteration}/${p.iterations}: R = ${p.loss.toFixed(4)}`);
    step = await attack.next();
  }
  const result: InvertResult = step.value;
  const diagnosis = o.diagnose
    ? diagnose({ params, x, labels, shape, numClasses: 2, training, ...(simulate && { simulate }), observed, reconstruction: result.images, initial: result.initial, attackLoss: result.loss, tvWeight: o.tv })
    : null;
  const warm = o.diagnose
    ? await warmStartProbe({ params, observed, labels, shape, numClasses: 2, training, ...(simulate && { simulate }), iterations: o.iterations, learningRate: o.attackLr, tvWeight: o.tv, seed: o.seed, signed: o.signed, x, noise: WARM_START_NOISE })
    : null;
  // precode: how far the attacker's simulation at the TRUE images is from the hospital's Δ
  // (1 − cos; ~0 without the defence): the mismatch that unknown ε leave (one sample with 'draws').
  const mismatchAtTruth = simulate ? tf.tidy(() => matchingLoss(simulate(params, tf.tensor4d(x, shape), labels, training), observed).dataSync()[0]!) : null;
  tf.dispose([...params, ...observed]);

  // Metrics: on the reconstruction given each original's mean and sd (zscore hides them; see matchMoments).
  // SSIM's standard 11-tap window does not fit below 11×11: a 7-tap one there (reported with it).
  const ssimWindow = size >= 11 ? 11 : 7;
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
      ssim: ssim(matched, original, size, size, 1, { windowSize: ssimWindow }),
      psnrRaw: psnr(raw, original),
      psnrStart: psnr(start, original),
    };
  });
  const seconds = (Date.now() - started) / 1000;
  const round = (v: number, digits: number) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : null);
  const diagnoseJson = diagnosis && {
    note: 'DIAGNOSTIC, not a headline: which pixels of the model input move Δ at all (nonzero ∂(r·Δ)/∂u over 8 random projections r), and the PSNR there and elsewhere',
    influenced_fraction: diagnosis.images.map((d) => round(d.influencedFraction, 4)),
    psnr_influenced_db: diagnosis.images.map((d) => round(d.psnrInfluenced, 2)),
    psnr_other_db: diagnosis.images.map((d) => round(d.psnrOther, 2)),
    psnr_influenced_start_db: diagnosis.images.map((d) => round(d.psnrInfluencedStart, 2)),
    psnr_other_start_db: diagnosis.images.map((d) => round(d.psnrOtherStart, 2)),
    psnr_ceiling_db: diagnosis.images.map((d) => round(d.psnrCeiling, 2)),
    psnr_mean_only_db: diagnosis.images.map((d) => round(d.psnrMeanOnly, 2)),
    objective_at_truth: round(diagnosis.objectiveAtTruth, 5),
    warm_start: warm && {
      note: `the same attack started at the true images plus noise of std ${WARM_START_NOISE}`,
      psnr_start_db: warm.startPsnr.map((v) => round(v, 2)),
      psnr_end_db: warm.endPsnr.map((v) => round(v, 2)),
      objective_start: round(warm.startLoss, 5),
      objective_end: round(warm.endLoss, 5),
    },
    objective_reached: round(diagnosis.objectiveReached, 5),
    parameters: diagnosis.parameters,
    pixels: diagnosis.pixels,
  };
  const summary = {
    defence: o.defence,
    images: o.images,
    psnr_db: perImage.map((m) => Number(m.psnr.toFixed(2))),
    ssim: perImage.map((m) => Number(m.ssim.toFixed(4))),
    restarts: o.restarts,
    model: o.model,
    input_size: size,
    local_steps: o.localSteps,
    iterations: o.iterations,
    ...(report && 'epsilon_patient' in report && report.epsilon_patient !== undefined && { epsilon: Number(report.epsilon_patient.toFixed(3)) }),
    ...(o.defence === 'secagg' && { hospitals: o.hospitals }),
    ...(o.homotopy && { homotopy: o.homotopy }),
    ...(precode && { vb_beta: o.vbBeta, vb_k: o.vbK, attacker_noise: o.vbAttacker, mismatch_at_truth: round(mismatchAtTruth!, 5) }),
    ...(diagnoseJson && { diagnose: diagnoseJson }),
  };
  const full = {
    ...summary,
    labels: Array.from(labels),
    learning_rate: o.lr,
    optimizer: 'sgd',
    attack: { learning_rate: o.attackLr, tv: o.tv, signed: o.signed, seed: o.seed, homotopy: o.homotopy ?? null, objective: result.loss, restart_objectives: result.restartLosses },
    psnr_raw_db: perImage.map((m) => Number(m.psnrRaw.toFixed(2))),
    ssim_window: ssimWindow,
    psnr_random_start_db: perImage.map((m) => Number(m.psnrStart.toFixed(2))),
    metric_note: "psnr_db/ssim: the reconstruction with each original's mean and sd (the zscore input hides them); psnr_raw_db: as optimised in [0, 1]",
    defence_report: report,
    backend,
    seconds,
  };
  writeFileSync(join(o.out, 'result.json'), `${JSON.stringify(full, null, 2)}\n`);
  log(`best objective ${result.loss.toFixed(4)} (restarts: ${result.restartLosses.map((l) => l.toFixed(4)).join(', ')})`);
  perImage.forEach((m, i) =>
    log(`image ${i}: PSNR ${m.psnr.toFixed(2)} dB (random start ${m.psnrStart.toFixed(2)} dB, raw ${m.psnrRaw.toFixed(2)} dB), SSIM ${m.ssim.toFixed(3)}`),
  );
  diagnosis?.images.forEach((d, i) =>
    log(
      `diagnose image ${i}: ${(100 * d.influencedFraction).toFixed(1)} % of pixels move Δ; PSNR there ${d.psnrInfluenced.toFixed(2)} dB (start ${d.psnrInfluencedStart.toFixed(2)}), elsewhere ${d.psnrOther.toFixed(2)} dB (start ${d.psnrOtherStart.toFixed(2)}); ceiling ${d.psnrCeiling.toFixed(2)} dB, the mean alone ${d.psnrMeanOnly.toFixed(2)} dB`,
    ),
  );
  if (warm)
    log(
      `diagnose: started at the originals + noise ${WARM_START_NOISE}: PSNR ${warm.startPsnr.map((v) => v.toFixed(2)).join(', ')} → ${warm.endPsnr.map((v) => v.toFixed(2)).join(', ')} dB, R ${warm.startLoss.toFixed(4)} → ${warm.endLoss.toFixed(4)}`,
    );
  if (diagnosis) log(`diagnose: R at the originals ${diagnosis.objectiveAtTruth.toFixed(4)}, reached ${diagnosis.objectiveReached.toFixed(4)}; Δ has ${diagnosis.parameters} values for ${diagnosis.pixels} unknown pixels`);
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
