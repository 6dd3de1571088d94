import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forgetSession, LoginError, readLoginResponse, retryAfterSeconds, saveSession, savedSession } from '../src/api/admin-login';

const json = 'application/json; charset=utf-8';
const refusal = (r: Parameters<typeof readLoginResponse>[0]) => {
  try {
    readLoginResponse(r, 0);
  } catch (e) {
    expect(e).toBeInstanceOf(LoginError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('readLoginResponse', () => {
  it('returns the session from a 200', () => {
    const r = readLoginResponse({ status: 200, contentType: json, retryAfter: null, body: JSON.stringify({ session: 's.1', expiresAt: 99 }) });
    expect(r).toEqual({ session: 's.1', expiresAt: 99 });
  });

  it('says "wrong admin password" for a 401', () => {
    expect(refusal({ status: 401, contentType: json, retryAfter: null, body: '{"error":"nope"}' })).toBe('Sign-in failed: wrong admin password.');
  });

  it('says how long to wait for a 429, from Retry-After in seconds or as a date', () => {
    expect(refusal({ status: 429, contentType: json, retryAfter: '42', body: '{}' })).toBe('Sign-in refused: too many attempts; try again in 42 s.');
    expect(refusal({ status: 429, contentType: json, retryAfter: new Date(30_000).toUTCString(), body: '{}' })).toContain('try again in 30 s');
    expect(refusal({ status: 429, contentType: json, retryAfter: null, body: '{}' })).toContain('try again in a little while');
  });

  it('refuses a missing endpoint (404/405/501, or the SPA fallback page) as not a Fedward server', () => {
    const notFedward = 'Sign-in failed: the server does not offer admin sign-in at /api/admin/login: is this a Fedward server?';
    for (const status of [404, 405, 501]) {
      expect(refusal({ status, contentType: 'text/plain', retryAfter: null, body: 'not found' })).toBe(notFedward);
    }
    expect(refusal({ status: 200, contentType: 'text/html; charset=utf-8', retryAfter: null, body: '<!doctype html>' })).toBe(notFedward);
  });

  it('reports other answers with their status and error', () => {
    expect(refusal({ status: 500, contentType: json, retryAfter: null, body: '{"error":"db locked"}' })).toBe('Sign-in failed: the server answered HTTP 500: db locked.');
    expect(refusal({ status: 200, contentType: json, retryAfter: null, body: '{"session":1}' })).toContain('unreadable session');
  });
});

describe('retryAfterSeconds', () => {
  it('reads seconds and dates, and ignores junk', () => {
    expect(retryAfterSeconds(' 7 ')).toBe(7);
    expect(retryAfterSeconds('soon')).toBeNull();
    expect(retryAfterSeconds(null)).toBeNull();
  });
});

describe('session storage', () => {
  const store = new Map<string, string>();
  beforeEach(() => {
    (globalThis as { sessionStorage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> }).sessionStorage = {
      getItem: (k) => store.get(k) ?? null,
      setItem: (k, v) => void store.set(k, v),
      removeItem: (k) => void store.delete(k),
    };
  });
  afterEach(() => store.clear());

  it('keeps only the session, and drops it once expired', () => {
    saveSession({ session: 'abc', expiresAt: 2000 });
    expect([...store.values()].join()).not.toContain('password');
    expect(savedSession(1000)).toEqual({ session: { session: 'abc', expiresAt: 2000 } });
    expect(savedSession(2000)).toEqual({ expired: true });
    expect(savedSession(2000)).toBeNull();
  });

  it('forgets a malformed entry', () => {
    store.set('fedward.admin-session', '{bad');
    expect(savedSession()).toBeNull();
    saveSession({ session: 'x', expiresAt: 1 });
    forgetSession();
    expect(store.size).toBe(0);
  });
});
