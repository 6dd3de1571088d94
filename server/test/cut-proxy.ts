import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of the server whose connections a test can cut at a chosen
 * moment, as a hospital's network or a closed laptop would: both ends see the connection drop
 * without a goodbye.
 */
export interface CutProxy {
  url: string;
  /** Connections cut so far. */
  readonly cuts: number;
  cutAll(): void;
  close(): Promise<void>;
}

export async function cutProxy(target: string): Promise<CutProxy> {
  const { port: targetPort } = new URL(target);
  const open = new Set<Socket>();
  let cuts = 0;
  const server: Server = createServer((inbound) => {
    const outbound = connect(Number(targetPort), '127.0.0.1');
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', end);
    outbound.on('close', end);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get cuts() {
      return cuts;
    },
    cutAll() {
      for (const s of open) {
        cuts += 1;
        s.resetAndDestroy();
      }
    },
    close: () =>
      new Promise<void>((ok) => {
        for (const s of open) s.destroy();
        server.close(() => ok());
      }),
  };
}
