import { describe, expect, it } from 'vitest';
import { kernelsWasmRelaxed, kernelsWasmSimd } from '../src/native/kernels_wasm';
import { withSharedMemoryImport } from '../src/native';

const bytes = (base64: string) => Uint8Array.from(Buffer.from(base64, 'base64'));

describe('the package\'s wasm kernel modules', () => {
  it('import nothing but env.memory, so that they run inside the backend\'s memory', () => {
    const module = new WebAssembly.Module(bytes(kernelsWasmSimd));
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WebAssembly.Module.exports(module).map((e) => e.name).sort()).toEqual(
      ['adam_update', 'add_bias', 'avg_pool_grad', 'batch_norm_apply', 'conv2d', 'conv2d_filter_grad', 'conv2d_input_grad', 'conv2d_relu_max_pool', 'conv2d_wino', 'conv2d_wino_filter_grad', 'copy_rows', 'gemm', 'max_pool', 'max_pool_grad',
        'max_unpool_relu', 'norm_apply', 'norm_grad_apply', 'norm_grad_moments', 'norm_moments', 'relu_grad', 'rows_binary', 'sum_rows', 'transpose2d', 'wino_filter']);
  });

  it('instantiate on a shared memory (the threaded backend) once the import is marked shared', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    for (const source of [kernelsWasmSimd, kernelsWasmRelaxed]) {
      if (!WebAssembly.validate(bytes(source))) continue;
      expect(() => new WebAssembly.Instance(new WebAssembly.Module(bytes(source)), { env: { memory } })).toThrow();
      const instance = new WebAssembly.Instance(new WebAssembly.Module(withSharedMemoryImport(bytes(source))), { env: { memory } });
      const addBias = instance.exports.add_bias as (x: number, bias: number, out: number, rows: number, cols: number) => void;
      const heap = new Float32Array(memory.buffer);
      heap.set([1, 2, 3, 4, 5, 6], 0);
      heap.set([10, 20, 30], 8);
      addBias(0, 32, 64, 2, 3);
      expect(Array.from(heap.subarray(16, 22))).toEqual([11, 22, 33, 14, 25, 36]);
    }
  });

  it('mark the import shared however large a section is (no byte-per-argument copies)', () => {
    // The module with a 1 MiB custom section after it: spreading a section's bytes into one call
    // overflowed a Chromium worker's stack once the code section passed about 64 KB.
    const module = bytes(kernelsWasmSimd);
    const pad = new Uint8Array(1 << 20);
    const name = Uint8Array.from([3, ...Buffer.from('pad')]);
    const size = name.length + pad.length;
    // Section id 0 (custom), then its size as unsigned LEB128 (21 bits: three bytes).
    const header = Uint8Array.from([0, 0x80 | (size & 0x7f), 0x80 | ((size >>> 7) & 0x7f), size >>> 14]);
    const big = Buffer.concat([module, header, name, pad]);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const marked = withSharedMemoryImport(big);
    expect(marked.length).toBe(withSharedMemoryImport(module).length + header.length + size);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(marked), { env: { memory } });
    expect(typeof instance.exports.conv2d_wino).toBe('function');
  });
});
