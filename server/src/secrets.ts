import { createHash, randomBytes } from 'node:crypto';

/** Enrolment tokens carry 192 random bits, so a fast hash is enough to store them safely. */
export function newToken(): string {
  return 'fwd_' + randomBytes(24).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
