/**
 * WebCrypto's SubtleCrypto, or a clear error: browsers give it only to secure contexts (HTTPS, or
 * http://localhost and 127.0.0.1), so a hospital page served over plain HTTP on a LAN cannot take
 * part in secure aggregation and must be told why.
 */
export function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new Error(
      'secure aggregation needs WebCrypto (crypto.subtle), which browsers offer only on HTTPS pages (or on localhost): open Fedward over https:// (see "Serving it to hospitals (TLS)" in the README)',
    );
  }
  return s;
}
