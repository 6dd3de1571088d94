import type { ClientEvent } from '@fedward/client';
import type { FederationSnapshot } from '@fedward/protocol';

/**
 * When each hospital did what, per round. Two sources feed it: the admin snapshots (browser and
 * Node hospitals alike; the server sends them at most every 150 ms, so a step shorter than that
 * may go unseen) and, for Node hospitals, their own client events (exact). The first sighting of
 * a step wins, so the exact events win wherever they exist.
 */

type Step = 'train' | 'upload' | 'uploaded';

export interface HospitalRoundTiming {
  round: number;
  /** From the round's start for this hospital to its first upload byte (or to its update being complete). */
  trainMs: number | null;
  /** From the first upload byte to the update being complete; null when the upload was too short to see. */
  uploadMs: number | null;
  /** From the round's start for this hospital to its update being complete. */
  roundMs: number | null;
}

export interface HospitalTiming {
  /** Picking the folder to the last slice stored (browser), or reading and storing it (Node). */
  importMs: number | null;
  /** Joining to the server's welcome: in a browser this includes the backend ladder (self-check and benchmark). */
  startupMs: number | null;
  rounds: HospitalRoundTiming[];
}

export class Timeline {
  private readonly steps = new Map<string, Partial<Record<Step, number>>>();
  private readonly imports = new Map<string, number>();
  private readonly joined = new Map<string, number>();
  private readonly ready = new Map<string, number>();
  private readonly roundStarts = new Map<number, number>();
  /** Hospital-round keys whose upload start came from the hospital's own (exact) event. */
  private readonly exactUploads = new Set<string>();

  /** Records the first sighting of a step; true when this call was it. */
  private mark(hospital: string, round: number, step: Step, at: number): boolean {
    const key = `${hospital}\u0000${round}`;
    const marks = this.steps.get(key) ?? {};
    this.steps.set(key, marks);
    if (marks[step] !== undefined) return false;
    marks[step] = at;
    return true;
  }

  imported(hospital: string, ms: number): void {
    this.imports.set(hospital, ms);
  }

  joining(hospital: string, at: number): void {
    this.joined.set(hospital, at);
  }

  snapshot(s: FederationSnapshot, at: number): void {
    if (s.phase === 'training' && !this.roundStarts.has(s.round)) this.roundStarts.set(s.round, at);
    for (const h of s.hospitals) {
      if (!h.connected) continue;
      if (h.state !== 'starting' && !this.ready.has(h.name)) this.ready.set(h.name, at);
      // Only while the round runs: a hospital's last status stays in the snapshot after the round is
      // released (it still says 'uploading' until the hospital reports again).
      if (s.phase !== 'training') continue;
      // 'training' is the server's view from the round's start; the hospital's own status follows its first batch.
      if (h.state === 'training') this.mark(h.name, s.round, 'train', at);
      if (h.state === 'uploaded') this.mark(h.name, s.round, 'uploaded', at);
      else if (h.status?.phase === 'uploading' && h.status.round === s.round) this.mark(h.name, s.round, 'upload', at);
    }
  }

  /** A Node hospital's own events: exact times. */
  event(hospital: string, e: ClientEvent, at: number): void {
    if (e.type === 'connected' && !this.ready.has(hospital)) this.ready.set(hospital, at);
    if (e.type === 'round-start') this.mark(hospital, e.round, 'train', at);
    if (e.type === 'upload' && this.mark(hospital, e.round, 'upload', at)) this.exactUploads.add(`${hospital}\u0000${e.round}`);
    if (e.type === 'uploaded' && e.subClient === e.subClients - 1) this.mark(hospital, e.round, 'uploaded', at);
  }

  /** When round `round` started: the first hospital starting it, or the admin first seeing it train. */
  roundStart(round: number): number | null {
    const seen = [...this.steps].filter(([key]) => key.endsWith(`\u0000${round}`)).map(([, m]) => m.train ?? Number.POSITIVE_INFINITY);
    const first = Math.min(this.roundStarts.get(round) ?? Number.POSITIVE_INFINITY, ...seen);
    return Number.isFinite(first) ? first : null;
  }

  /**
   * `completedAt`: when the server released each round the hospital took part in. A hospital
   * whose update completed a round is never seen 'uploaded' (the round is released at once):
   * its update is then taken as complete at the release.
   */
  hospital(name: string, completedAt: ReadonlyMap<number, number>): HospitalTiming {
    const joined = this.joined.get(name);
    const ready = this.ready.get(name);
    const rounds: HospitalRoundTiming[] = [...completedAt].map(([round, released]) => {
      const key = `${name}\u0000${round}`;
      const m = this.steps.get(key) ?? {};
      const start = m.train ?? this.roundStarts.get(round);
      const done = m.uploaded ?? released;
      const span = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b >= a ? b - a : null);
      // Upload start and end in one snapshot: it took less than the snapshots can tell apart. From a
      // Node hospital's own events the same millisecond is a real measurement: under 1 ms.
      const exact = this.exactUploads.has(key);
      const upload = m.upload !== undefined && (m.upload < done || (exact && m.upload === done)) ? m.upload : undefined;
      return { round, trainMs: span(start, upload ?? done), uploadMs: span(upload, upload === undefined ? undefined : done), roundMs: span(start, done) };
    });
    return {
      importMs: this.imports.get(name) ?? null,
      startupMs: joined !== undefined && ready !== undefined ? Math.max(0, ready - joined) : null,
      rounds,
    };
  }
}
