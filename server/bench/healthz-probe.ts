/**
 * The /healthz prober of the load test (load-test.ts), run in a worker thread: its own event loop,
 * so the figures are the server's answer time and not the lag of the 200 sockets' load generator
 * in the main thread.
 *
 * GET /healthz every `everyMs`, one request at a time (a stalled server shows as one long sample),
 * each sample tagged with the phase that was running when the request went out. The main thread
 * posts phase changes; on `stop` the worker finishes its request in flight and posts every sample.
 */
import { Agent, request as httpRequest } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface ProbeOptions {
  url: string;
  everyMs: number;
  phase: string;
}
export interface ProbeSample {
  phase: string;
  ms: number;
  ok: boolean;
}
export type ToProbe = { type: 'phase'; phase: string } | { type: 'stop' };
export type FromProbe = { type: 'ready' } | { type: 'samples'; samples: ProbeSample[] };

function probe(port: MessagePortLike, { url, everyMs, phase: first }: ProbeOptions): void {
  const send = (m: FromProbe) => port.postMessage(m);
  const { port: tcpPort } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: ProbeSample[] = [];
  let phase = first;
  let running = true;
  const one = () =>
    new Promise<{ ms: number; ok: boolean }>((resolve) => {
      const t0 = performance.now();
      const r = httpRequest({ host: '127.0.0.1', port: Number(tcpPort), path: '/healthz', agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - t0, ok: res.statusCode === 200 }));
      });
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', () => resolve({ ms: performance.now() - t0, ok: false }));
      r.end();
    });
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const tag = phase;
      const r = await one();
      samples.push({ phase: tag, ...r });
      const left = everyMs - (performance.now() - t0);
      if (left > 0 && running) await new Promise((ok) => setTimeout(ok, left));
    }
  })();
  port.on('message', (m: ToProbe) => {
    if (m.type === 'phase') phase = m.phase;
    else if (m.type === 'stop' && running) {
      running = false;
      void loop.then(() => {
        agent.destroy();
        send({ type: 'samples', samples });
        port.close();
      });
    }
  });
  send({ type: 'ready' });
}

interface MessagePortLike {
  postMessage(m: unknown): void;
  on(event: 'message', listener: (m: ToProbe) => void): void;
  close(): void;
}

if (parentPort && (workerData as { healthzProbe?: ProbeOptions } | null)?.healthzProbe) {
  probe(parentPort as unknown as MessagePortLike, (workerData as { healthzProbe: ProbeOptions }).healthzProbe);
}
