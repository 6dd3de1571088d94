import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { importFiles, openSliceStore } from './packages/data/src';
import { folderImportFiles } from './packages/data/src/node';
await tf.setBackend('cpu');
const store = await openSliceStore('dbg');
const r = await importFiles(await folderImportFiles('/tmp/fed/hospital-b'), { store, targetSize: 32, skipQuotaCheck: true });
const classes = Object.keys(r.summary.labels).sort();
async function run(name: string, build: () => tf.LayersModel, lr: number, normalization: 'unit' | 'zscore') {
  const m = build(); const opt = tf.train.adam(lr); const accs: string[] = [];
  for (let e = 1; e <= 6; e++) {
    for await (const b of store.readBatches({ batchSize: 16, classes, shuffleSeed: e, normalization })) {
      const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(b.labelIndices, 'int32'), 2), m.apply(tf.tensor4d(b.x, [b.count, 32, 32, 1])) as tf.Tensor) as tf.Scalar, true)!; l.dispose();
    }
    let c = 0, n = 0;
    for await (const b of store.readBatches({ batchSize: 64, classes, normalization })) { const p = (m.predict(tf.tensor4d(b.x, [b.count, 32, 32, 1])) as tf.Tensor).argMax(1).dataSync(); p.forEach((v, k) => { c += +(v === b.labelIndices[k]); n++; }); }
    accs.push((c / n).toFixed(2));
  }
  console.log(name, lr, normalization, 'acc per epoch', accs.join(' '));
}
const conv = (f: number, seed: number, first = false) => tf.layers.conv2d({ ...(first ? { inputShape: [32, 32, 1] } : {}), filters: f, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) });
const current = () => tf.sequential({ layers: [conv(8, 1, true), tf.layers.maxPooling2d({ poolSize: 2 }), conv(16, 2), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
const gmp = () => tf.sequential({ layers: [conv(8, 1, true), tf.layers.maxPooling2d({ poolSize: 2 }), conv(16, 2), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.globalMaxPooling2d({}), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
for (const [name, b] of [['current', current], ['gmp', gmp]] as const) for (const norm of ['unit', 'zscore'] as const) await run(name, b, 0.01, norm);
