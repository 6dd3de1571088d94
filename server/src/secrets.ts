import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/** Enrolment tokens carry 192 random bits, so a fast hash is enough to store them safely. */
export function newToken(): string {
  return 'fwd_' + randomBytes(24).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Admin passwords may be chosen by people, so they get a slow, salted hash. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, saltHex, keyHex] = stored.split('$');
  if (scheme !== 'scrypt' || !saltHex || !keyHex) return false;
  const expected = Buffer.from(keyHex, 'hex');
  const actual = scryptSync(password, Buffer.from(saltHex, 'hex'), expected.length);
  return timingSafeEqual(expected, actual);
}

export function newPassword(): string {
  return randomBytes(12).toString('base64url');
}
