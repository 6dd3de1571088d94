import type { AdminSession } from '@fedward/protocol';

/** What POST /api/admin/login answered: the session the admin socket signs in with. */
export type LoginOutcome = AdminSession;

/** A refused sign-in, with the sentence to show. */
export class LoginError extends Error {}

export interface LoginResponse {
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  body: string;
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); null when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

function errorText(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : null;
  } catch {
    return null;
  }
}

/** Reads the login endpoint's answer; throws LoginError with a plain sentence when the sign-in is refused. */
export function readLoginResponse(r: LoginResponse, now = Date.now()): LoginOutcome {
  const json = (r.contentType ?? '').includes('application/json');
  // A server without the endpoint answers 404/405/501, or serves the hospital app's index.html
  // for the unknown path (200, text/html): this is not (or not yet) a Fedward server.
  if (r.status === 404 || r.status === 405 || r.status === 501 || (r.status === 200 && !json)) {
    throw new LoginError('Sign-in failed: the server does not offer admin sign-in at /api/admin/login: is this a Fedward server?');
  }
  if (r.status === 401) throw new LoginError('Sign-in failed: wrong admin password.');
  if (r.status === 429) {
    const wait = retryAfterSeconds(r.retryAfter, now);
    throw new LoginError(`Sign-in refused: too many attempts; try again in ${wait === null ? 'a little while' : `${wait} s`}.`);
  }
  if (r.status === 200) {
    try {
      const s = JSON.parse(r.body) as Partial<AdminSession>;
      if (typeof s.session === 'string' && s.session && typeof s.expiresAt === 'number') {
        return { session: s.session, expiresAt: s.expiresAt };
      }
    } catch {
      // reported below
    }
    throw new LoginError('Sign-in failed: the server answered with an unreadable session.');
  }
  const why = errorText(r.body);
  throw new LoginError(`Sign-in failed: the server answered HTTP ${r.status}${why ? `: ${why}` : ''}.`);
}

/** POST /api/admin/login with the password; the password goes nowhere else and is never stored. */
export async function requestSession(password: string): Promise<LoginOutcome> {
  let res: Response;
  try {
    res = await fetch('/api/admin/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new LoginError(`Sign-in failed: cannot reach the server (${(e as Error).message}).`);
  }
  return readLoginResponse({
    status: res.status,
    contentType: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
    body: await res.text(),
  });
}

const KEY = 'fedward.admin-session';

/** The session (never the password) lives in sessionStorage: it ends with the tab and expires on its own. */
export function saveSession(s: AdminSession): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function forgetSession(): void {
  sessionStorage.removeItem(KEY);
}

/** The saved session, or why there is none worth using. */
export function savedSession(now = Date.now()): { session: AdminSession } | { expired: true } | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<AdminSession>;
    if (typeof s.session !== 'string' || typeof s.expiresAt !== 'number') throw new Error('malformed');
    if (s.expiresAt <= now) {
      forgetSession();
      return { expired: true };
    }
    return { session: { session: s.session, expiresAt: s.expiresAt } };
  } catch {
    forgetSession();
    return null;
  }
}

/** Earlier builds kept the password itself in sessionStorage: remove it wherever it is left. */
export function forgetStoredPassword(): void {
  sessionStorage.removeItem('fedward.admin-password');
}
