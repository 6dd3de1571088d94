/**
 * Which study plans this hospital accepted (by their SHA-256 digest), kept in this browser. A
 * study whose plan changed has another digest, so it needs a new acceptance before joining; the
 * server checks the digest too (it comes with the hello).
 */
const KEY = 'fedward.accepted-plans';

export interface Acceptance {
  digest: string;
  at: number;
}

function all(): Record<string, Acceptance> {
  try {
    return (JSON.parse(localStorage.getItem(KEY) ?? '{}') as Record<string, Acceptance>) ?? {};
  } catch {
    return {};
  }
}

export const acceptance = (study: string): Acceptance | null => all()[study] ?? null;

export function acceptPlan(study: string, digest: string): Acceptance {
  const a = { digest, at: Date.now() };
  localStorage.setItem(KEY, JSON.stringify({ ...all(), [study]: a }));
  return a;
}
