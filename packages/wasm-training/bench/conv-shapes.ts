/**
 * The package's three convolution kernels on the shapes of the bench models, each timed alone
 * (best of 7 calls after one warm-up), in GFLOP/s: what the kernels reach when nothing else runs,
 * to set against `profile-step.ts --calls` (the same shapes inside a training step). Node, wasm, one
 * thread; relaxed SIMD needs the flag:
 *
 *   node --experimental-wasm-relaxed-simd --import tsx packages/wasm-training/bench/conv-shapes.ts [--json]
 *
 * Stride-1 'same' 3×3 convolutions (U-Net, CNN, DenseNet growth layers); load average printed.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src';
import { setWinogradConvolutions } from '../src/kernels/conv2d_winograd';
import { setNodeWasmPaths } from '../src/node';

setNodeWasmPaths();
registerWasmTrainingKernels();
if (process.argv.includes('--direct')) setWinogradConvolutions(false);
await tf.setBackend('wasm');

type Shape = [number, number, number, number];
const cases: { name: string; x: Shape; co: number }[] = [
  { name: 'unet 16x16 32->32', x: [32, 16, 16, 32], co: 32 },
  { name: 'unet 32x32 32->16', x: [32, 32, 32, 32], co: 16 },
  { name: 'unet 32x32 16->16', x: [32, 32, 32, 16], co: 16 },
  { name: 'unet 64x64 16->8', x: [32, 64, 64, 16], co: 8 },
  { name: 'unet 64x64 8->8', x: [32, 64, 64, 8], co: 8 },
  { name: 'cnn 64x64 1->16', x: [32, 64, 64, 1], co: 16 },
  { name: 'cnn 31x31 16->32', x: [32, 31, 31, 16], co: 32 },
  { name: 'densenet 16x16 48->12', x: [32, 16, 16, 48], co: 12 },
  { name: 'densenet 10x10 48->12', x: [32, 10, 10, 48], co: 12 },
];
const json = process.argv.includes('--json');
const rows: { shape: string; fwd_ms: number; dx_ms: number; dw_ms: number; gflop: number }[] = [];
const time = (f: () => tf.Tensor, reps = 7) => {
  f().dispose();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = f();
    out.dataSync();
    ts.push(performance.now() - t0);
    out.dispose();
  }
  return Math.min(...ts);
};
for (const c of cases) {
  const [n, h, w, ci] = c.x;
  const x = tf.randomNormal(c.x) as tf.Tensor4D;
  const k = tf.randomNormal([3, 3, ci, c.co]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, h, w, c.co]) as tf.Tensor4D;
  const flop = 2 * n * h * w * ci * c.co * 9;
  const fwd = time(() => tf.conv2d(x, k, 1, 'same'));
  const bin = time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: k }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: c.x, dilations: 1 }) as tf.Tensor);
  const bfl = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, ci, c.co], dilations: 1 }) as tf.Tensor);
  const g = (ms: number) => `${ms.toFixed(2)} ms ${(flop / ms / 1e6).toFixed(1)} GF/s`;
  if (!json) console.log(`${c.name.padEnd(22)} fwd ${g(fwd)} | dx ${g(bin)} | dw ${g(bfl)}`);
  rows.push({ shape: c.name, fwd_ms: fwd, dx_ms: bin, dw_ms: bfl, gflop: flop / 1e9 });
  tf.dispose([x, k, dy]);
}
if (json) console.log(JSON.stringify({ load: os.loadavg()[0], rows }));
else console.log(`load average ${os.loadavg()[0]!.toFixed(2)}`);
