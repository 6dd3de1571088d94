import { MemoryDataset, seededRandom } from '../src';

/** A seeded word stream in place of the CSPRNG, so a failure can be replayed and two engines draw alike. */
export const seededFill = (seed: number) => {
  const rand = seededRandom(seed);
  return (b: Uint32Array) => {
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(rand() * 2 ** 32) >>> 0;
  };
};

/** size×size slices; class 1 has a bright 4×4 square at a random place; both classes carry noise. */
export function squareData(n: number, seed: number, size: number): MemoryDataset {
  const rand = seededRandom(seed);
  return new MemoryDataset(
    Array.from({ length: n }, (_, i) => {
      const label = i % 2;
      const x = Float32Array.from({ length: size * size }, () => rand() * 0.3);
      if (label) {
        const r = 2 + Math.floor(rand() * (size - 8));
        const c = 2 + Math.floor(rand() * (size - 8));
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) x[(r + dy) * size + c + dx] = 1;
      }
      return { x, label };
    }),
  );
}
