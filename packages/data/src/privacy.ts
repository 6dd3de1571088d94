/**
 * Privacy at ingest: identifiers are replaced by a salted SHA-256 before
 * anything is stored. The salt is random per local store, so hashes can group
 * slices by patient (patient-disjoint splits) but cannot be matched against a
 * list of known IDs, nor across hospitals.
 */

export function randomSalt(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return toHex(bytes);
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

const encoder = new TextEncoder();

/**
 * Hex SHA-256 of salt + kind + value, shortened to 128 bits (plenty against
 * collisions among one hospital's patients). `kind` keeps a PatientID and a
 * StudyInstanceUID with the same text from hashing alike.
 */
export async function saltedHash(salt: string, kind: string, value: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', encoder.encode(`${salt}\u0000${kind}\u0000${value}`));
  return toHex(new Uint8Array(digest, 0, 16));
}

/**
 * Hex SHA-256 of the salt and a file's bytes, shortened like `saltedHash`: recognises the same
 * file when a folder is imported again (under another path, e.g. from its parent folder) without
 * storing anything that could be matched against the file outside this browser.
 */
export async function saltedBytesHash(salt: string, bytes: Uint8Array): Promise<string> {
  const prefix = encoder.encode(`${salt}\u0000file-bytes\u0000`);
  const data = new Uint8Array(prefix.length + bytes.length);
  data.set(prefix);
  data.set(bytes, prefix.length);
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data);
  return toHex(new Uint8Array(digest, 0, 16));
}
