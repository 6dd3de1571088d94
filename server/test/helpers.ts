import { mkdtempSync } from 'node:fs';
import { afterEach, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryPatientDataset, participate, type ClientEvent, type SecAggTestHooks, type SentMessage, type TrainingStateStore } from '@fedward/client';
import { MemoryDataset, activateBackend, createDetEngine, createModel, seededRandom, type ModelEngine } from '@fedward/models';
import type { NamedTensor } from '@fedward/protocol';

import { startServer, type RunningServer, type ServerOptions } from '../src';

/** For a test file: TF.js on the cpu backend, and whichever server a test started is closed after it. */
export function serverPerTest() {
  let open: RunningServer | null = null;
  beforeAll(async () => {
    await activateBackend(['cpu']);
  });
  afterEach(async () => {
    await open?.close();
    open = null;
  });
  return {
    async start(options: ServerOptions): Promise<RunningServer> {
      open = await startServer(options);
      return open;
    },
    async close(): Promise<void> {
      await open?.close();
      open = null;
    },
  };
}

export const tempDb = (): string => join(mkdtempSync(join(tmpdir(), 'fedward-')), 'fedward.sqlite');

/** Noisy discs; class 1 carries a small bright spot. Each hospital has its own brightness and noise. */
function hospitalSamples(size: number, n: number, seed: number, profile = { gain: 1, noise: 0.15 }): { x: Float32Array; label: number }[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2;
    const x = new Float32Array(size * size);
    const cx = size / 2;
    const spotX = 3 + rand() * (size - 6);
    const spotY = 3 + rand() * (size - 6);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const inside = (r - cx) ** 2 + (c - cx) ** 2 < (size * 0.45) ** 2 ? 0.4 : 0;
        const spot = label && (r - spotY) ** 2 + (c - spotX) ** 2 < 5 ? 0.8 : 0;
        x[r * size + c] = profile.gain * (inside + spot) + profile.noise * (rand() - 0.5);
      }
    }
    return { x, label };
  });
}

export function hospitalData(size: number, n: number, seed: number, profile?: { gain: number; noise: number }): MemoryDataset {
  return new MemoryDataset(hospitalSamples(size, n, seed, profile));
}

/** The same kind of slices with a patient each (`slicesPerPatient` consecutive slices), so sub-clients can be cut. */
export function patientData(size: number, n: number, seed: number, slicesPerPatient = 4): MemoryPatientDataset {
  return new MemoryPatientDataset(
    hospitalSamples(size, n, seed).map((s, i) => ({ ...s, patient: `h${seed}-p${Math.floor(i / slicesPerPatient)}` })),
  );
}

/** Wraps the real engine to record which global weights each round started from. */
export function recordingModel(log: NamedTensor[][]): (spec: Parameters<typeof createModel>[0]) => ModelEngine {
  return (spec) => {
    const engine = createModel(spec);
    const setWeights = engine.setWeights.bind(engine);
    engine.setWeights = (w) => {
      log.push(w.map((t) => ({ ...t, values: t.values.slice() })));
      setWeights(w);
    };
    return engine;
  };
}

export async function runToEnd(events: AsyncGenerator<ClientEvent, void>, seen: ClientEvent[] = []): Promise<ClientEvent[]> {
  for await (const e of events) seen.push(e);
  return seen;
}

export function client(
  url: string,
  token: string,
  size: number,
  seed: number,
  extra: {
    log?: NamedTensor[][];
    profile?: { gain: number; noise: number };
    train?: MemoryPatientDataset;
    trainingState?: TrainingStateStore;
    signal?: AbortSignal;
    study?: string;
    planDigest?: string;
    onSent?: (m: SentMessage) => void;
    secaggTest?: SecAggTestHooks;
  } = {},
) {
  return participate({
    url,
    token,
    ...(extra.study && { study: extra.study }),
    ...(extra.planDigest && { planDigest: extra.planDigest }),
    ...(extra.onSent && { onSent: extra.onSent }),
    ...(extra.secaggTest && { secaggTest: extra.secaggTest }),
    backend: 'cpu',
    ...(extra.signal && { signal: extra.signal }),
    ...(extra.trainingState && { trainingState: extra.trainingState }),
    train: extra.train ?? hospitalData(size, 40, seed, extra.profile),
    test: hospitalData(size, 24, seed + 1000, extra.profile),
    createModel: extra.log ? (c) => recordingModel(extra.log!)(c.model) : (c) => createModel(c.model),
    createDetEngine: (c) => {
      const det = createDetEngine(c.model);
      if (extra.log) {
        // Under PRR-FL the weights that come from the server are the deputy's.
        const set = det.setDeputyWeights.bind(det);
        det.setDeputyWeights = (w) => {
          extra.log!.push(w.map((t) => ({ ...t, values: t.values.slice() })));
          set(w);
        };
      }
      return det;
    },
  });
}

/** Logs in as the admin over HTTP (POST /api/admin/login) and returns the signed session. */
export async function adminSession(url: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/admin/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
  if (!res.ok) throw new Error(`admin login: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { session: string }).session;
}
