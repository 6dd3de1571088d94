import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of the server for one browser hospital: it forwards
 * everything until the server sends a frame containing `marker` (e.g. a Socket.io event name),
 * then drops that frame, cuts the connection and refuses new ones, as a tab closed at exactly that
 * moment would. The page must be opened at `url` (the app talks to its own origin).
 */
export interface MessageCutProxy {
  url: string;
  /** Resolves when the marker was seen and the connection cut. */
  cut: Promise<void>;
  close(): Promise<void>;
}

/** Header and total length of the unmasked WebSocket frame at the start of `b`, or null while incomplete. */
function frameLength(b: Buffer): { header: number; total: number } | null {
  if (b.length < 2) return null;
  const short = b[1]! & 0x7f;
  if (short < 126) return { header: 2, total: 2 + short };
  if (short === 126) return b.length < 4 ? null : { header: 4, total: 4 + b.readUInt16BE(2) };
  return b.length < 10 ? null : { header: 10, total: 10 + Number(b.readBigUInt64BE(2)) };
}

export async function messageCutProxy(target: string, marker: string): Promise<MessageCutProxy> {
  const { port: targetPort } = new URL(target);
  const needle = Buffer.from(marker);
  const open = new Set<Socket>();
  let blocked = false;
  let onCut: () => void = () => {};
  const cut = new Promise<void>((ok) => (onCut = ok));
  const server = createServer((inbound) => {
    if (blocked) return void inbound.destroy();
    const outbound = connect(Number(targetPort), '127.0.0.1');
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound);
    // Server → browser: a WebSocket connection is read frame by frame (server frames are not
    // masked), and every frame before the one with the marker is forwarded; other HTTP passes through.
    let mode: 'start' | 'websocket' | 'http' = 'start';
    let pending = Buffer.alloc(0);
    outbound.on('data', (chunk: Buffer) => {
      if (blocked) return;
      pending = Buffer.concat([pending, chunk]);
      if (mode === 'start') {
        const head = pending.indexOf('\r\n\r\n');
        if (head < 0) return;
        mode = pending.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101') ? 'websocket' : 'http';
        if (mode === 'websocket') {
          inbound.write(pending.subarray(0, head + 4));
          pending = pending.subarray(head + 4);
        }
      }
      if (mode === 'http') {
        inbound.write(pending);
        pending = Buffer.alloc(0);
        return;
      }
      for (;;) {
        const frame = frameLength(pending);
        if (frame === null || pending.length < frame.total) return;
        if (pending.subarray(frame.header, frame.total).includes(needle)) {
          blocked = true;
          for (const s of open) s.destroy();
          onCut();
          return;
        }
        inbound.write(pending.subarray(0, frame.total));
        pending = pending.subarray(frame.total);
      }
    });
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
    cut,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of open) s.destroy();
        server.close(() => ok());
      }),
  };
}
