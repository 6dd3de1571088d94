import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/**
 * Serves a built single-page app from `root` under `prefix`, falling back to index.html for
 * client-side routes. Cross-origin isolation headers let TF.js use WebAssembly threads.
 */
export function serveApp(root: string, prefix: string, req: IncomingMessage, res: ServerResponse): boolean {
  // Origin-form paths only; "//x" would otherwise parse as a host and "http://…" as another origin.
  const raw = req.url ?? '/';
  const url = URL.parse(`http://local${raw.startsWith('/') ? raw : `/${raw}`}`);
  if (!url) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('bad request: malformed path');
    return true;
  }
  if (!url.pathname.startsWith(prefix)) return false;
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
  } catch {
    // "%", "%ff", …: not a path any file can have.
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('bad request: malformed percent-encoding in the path');
    return true;
  }
  if (rel.includes('\0')) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('bad request: NUL in the path');
    return true;
  }
  const file = normalize(join(root, rel));
  if (!file.startsWith(root + sep) && file !== root) {
    res.writeHead(403).end('forbidden');
    return true;
  }
  const index = join(root, 'index.html');
  if (!existsSync(index)) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`The app in ${root} is not built yet. Run "npm run build" (or "bash scripts/start.sh") and reload.`);
    return true;
  }
  const target = existsSync(file) && statSync(file).isFile() ? file : index;
  res.writeHead(200, {
    'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cache-control': target === index ? 'no-cache' : 'public, max-age=3600',
  });
  createReadStream(target).pipe(res);
  return true;
}
