import type { Enrolment, StudyOffer } from '../types/federation';

const TOKEN_KEY = 'fedward.enrolment-token';
const STUDY_KEY = 'fedward.study';

/** Asks the server which hospital a token belongs to and which open studies it takes part in. */
export async function checkToken(token: string): Promise<Enrolment> {
  const res = await fetch('/api/studies', { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json().catch(() => ({}))) as { error?: string; hospital?: string; studies?: StudyOffer[] };
  if (!res.ok || !body.hospital || !Array.isArray(body.studies)) {
    throw new Error(body.error ?? `the server answered ${res.status}`);
  }
  return { token, hospital: body.hospital, studies: body.studies };
}

/** The token is kept so a reload does not ask for it again; "Use another token" removes it. */
export const savedToken = (): string => localStorage.getItem(TOKEN_KEY) ?? '';
export const saveToken = (token: string): void => localStorage.setItem(TOKEN_KEY, token);
export const forgetToken = (): void => {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(STUDY_KEY);
};

/** The study this browser last chose, so a reload shows (and rejoins) the same one. */
export const savedStudy = (): string => localStorage.getItem(STUDY_KEY) ?? '';
export const saveStudy = (id: string): void => localStorage.setItem(STUDY_KEY, id);
