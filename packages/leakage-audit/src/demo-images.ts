import { syntheticFederationTensors } from '@fedward/data';

/**
 * Slices of the demo task as the federate tool generates them (packages/data's phantom
 * federation, hospital-a, the generator's default seed and difficulty), windowed to [0, 1] as the
 * hospital's PNG export is: the images a demo hospital would train on. Alternates lesion (label 1)
 * and normal (label 0) slices so two images carry both labels. `hospital` picks another demo
 * hospital of the same federation (1: hospital-b, …; hospital-a is the same whatever their number).
 */
export function demoImages(count: number, size: number, seed: number | string = 1, hospital = 0): { x: Float32Array; labels: Int32Array } {
  const hospitals = syntheticFederationTensors({ hospitals: hospital + 1, task: 'classification', size, slicesPerHospital: 40, seed, difficulty: 'hard' });
  const data = hospitals[hospital];
  if (!data) throw new Error(`the demo generator made no hospital ${hospital}`);
  const area = size * size;
  const byLabel = [0, 1].map((label) => Array.from({ length: data.count }, (_, i) => i).filter((i) => data.y[i] === label));
  const picked: number[] = [];
  for (let k = 0; picked.length < count; k++) {
    const pool = byLabel[(k + 1) % 2]!;
    const i = pool[Math.floor(k / 2)];
    if (i === undefined) throw new Error(`demo hospital ${hospital} has too few slices for ${count} images`);
    picked.push(i);
  }
  const x = new Float32Array(count * area);
  picked.forEach((i, k) => x.set(data.x.subarray(i * area, (i + 1) * area), k * area));
  return { x, labels: Int32Array.from(picked, (i) => data.y[i]!) };
}
