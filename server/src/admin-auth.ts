import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

/**
 * Admin passwords may be chosen by people, so they get a slow, salted hash. scrypt runs on libuv's
 * thread pool (the async form): a flood of guesses must not stall the sockets of every hospital.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, saltHex, keyHex] = stored.split('$');
  if (scheme !== 'scrypt' || !saltHex || !keyHex) return false;
  const expected = Buffer.from(keyHex, 'hex');
  const actual = await scryptAsync(password, Buffer.from(saltHex, 'hex'), expected.length);
  return timingSafeEqual(expected, actual);
}

export function newPassword(): string {
  return randomBytes(12).toString('base64url');
}

/** How long an admin session lasts after login. */
export const SESSION_MS = 8 * 60 * 60_000;

/**
 * Admin sessions: `v1.<expires>.<nonce>.<mac>`, an HMAC-SHA256 under a server secret kept in the
 * database. The password then crosses the wire once per login, not on every socket, and
 * changing the password rotates the secret, which ends every session at once.
 */
export function newSessionSecret(): string {
  return randomBytes(32).toString('hex');
}

export function signSession(secret: string, now = Date.now()): { session: string; expiresAt: number } {
  const expiresAt = now + SESSION_MS;
  const body = `v1.${expiresAt}.${randomBytes(16).toString('base64url')}`;
  return { session: `${body}.${mac(secret, body)}`, expiresAt };
}

/** The session's expiry when it is genuine and current; null otherwise. */
export function verifySession(secret: string, session: unknown, now = Date.now()): number | null {
  if (typeof session !== 'string' || session.length > 200) return null;
  const parts = session.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') return null;
  const body = parts.slice(0, 3).join('.');
  const given = Buffer.from(parts[3]!, 'base64url');
  const expected = Buffer.from(mac(secret, body), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const expiresAt = Number(parts[1]);
  return Number.isSafeInteger(expiresAt) && expiresAt > now ? expiresAt : null;
}

function mac(secret: string, body: string): string {
  return createHmac('sha256', Buffer.from(secret, 'hex')).update(body).digest('base64url');
}
