import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { wasmTrainingKernelNames } from '../src';
import { nodeTrainingBackend } from '../src/node';

describe('nodeTrainingBackend (@fedward/wasm-training/node)', () => {
  it('starts the wasm backend from the package’s own .wasm files, with the training kernels registered', async () => {
    expect(await nodeTrainingBackend()).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    for (const name of wasmTrainingKernelNames) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
  });

  it('switches to cpu when asked', async () => {
    expect(await nodeTrainingBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
