/**
 * Browser downloads of files the server hands out only with a credential (the admin's session, a
 * hospital's enrolment token): fetch with the bearer, then save through an `<a download>`.
 */

/** A failed download; `sessionEnded` when the server no longer accepts the credential. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly sessionEnded: boolean,
  ) {
    super(message);
  }
}

/** Fetches `path` with `Authorization: Bearer <credential>`; the answer's body when the server hands it out. */
export async function fetchWithBearer(credential: string, path: string, refused = 'the server no longer accepts this session'): Promise<Blob> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${credential}` }, cache: 'no-store' });
  } catch (e) {
    throw new DownloadError(`cannot reach the server (${(e as Error).message})`, false);
  }
  if (res.status === 401 || res.status === 403) throw new DownloadError(refused, true);
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new DownloadError(body.error ?? `the server answered HTTP ${res.status}`, false);
  }
  return res.blob();
}

/** Fetches `path` with `Authorization: Bearer <credential>` and saves it as `filename`. */
export async function downloadWithBearer(credential: string, path: string, filename: string, refused = 'the server no longer accepts this session'): Promise<void> {
  saveBlob(await fetchWithBearer(credential, path, refused), filename);
}

/** Saves `blob` as `filename` through an `<a download>` (files made in the page, as well as fetched ones). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    // The click has started the download; the object URL is not needed after this task.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
