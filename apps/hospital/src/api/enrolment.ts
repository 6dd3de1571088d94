import type { FederationConfig } from '@fedward/protocol';
import type { Enrolment } from '../types/federation';

const KEY = 'fedward.enrolment-token';

/** Asks the server which hospital a token belongs to and which model the federation trains. */
export async function checkToken(token: string): Promise<Enrolment> {
  const res = await fetch('/api/federation', { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json().catch(() => ({}))) as { error?: string; hospital?: string; config?: FederationConfig };
  if (!res.ok || !body.hospital || !body.config) {
    throw new Error(body.error ?? `the server answered ${res.status}`);
  }
  return { token, hospital: body.hospital, config: body.config };
}

/** The token is kept so a reload does not ask for it again; "Forget" removes it. */
export const savedToken = (): string => localStorage.getItem(KEY) ?? '';
export const saveToken = (token: string): void => localStorage.setItem(KEY, token);
export const forgetToken = (): void => localStorage.removeItem(KEY);
