import { checkWeightsAgainst, decodeWeights, type NamedTensor, type TensorSpec } from '@fedward/protocol';
import type { UpdateInfo, UploadPlace } from './dp/types';

/**
 * An uploaded update's way from the received binary chunks to the aggregator, as the coordinator
 * runs it (and `npm run bench:aggregate` measures it): each chunk is copied once, straight to its
 * place in the upload's buffer (Socket.io may hand over a view into a buffer it reuses); the
 * update is decoded as views into that buffer (no concatenation, no second copy); names and shapes
 * are checked; the aggregator's add() reads the values, refusing a non-finite update before it
 * changes anything (so there is no separate pass for finiteness). Under DP the buffer is taken
 * from the aggregator itself (`DpAggregator.uploadPlace`): it lies in the memory its WebAssembly
 * kernels work in, so they read the values where the chunks were put (a helper thread can take
 * half of each pass there), and it takes the clip norm's pass block by block as the chunks arrive,
 * while they are in cache, so add() makes one pass (encode, check and sum). Otherwise buffers come
 * from a small pool, so a round's uploads do not allocate and fault in a model's bytes each.
 */

/** Where upload buffers come from and go back to: a pool, or an aggregator's upload place. */
export type BufferSource = UploadPlace;

/** Idle upload buffers, reused across uploads; at most `keep` are held while idle. */
export class BufferPool implements BufferSource {
  private readonly idle: Uint8Array[] = [];

  constructor(private readonly keep = 2) {}

  take(bytes: number): Uint8Array {
    const i = this.idle.findIndex((b) => b.length === bytes);
    return i >= 0 ? this.idle.splice(i, 1)[0]! : new Uint8Array(bytes);
  }

  give(buffer: Uint8Array): void {
    if (this.idle.length >= this.keep) this.idle.shift();
    this.idle.push(buffer);
  }
}

/** One upload's bytes, assembled from its chunks in order. */
export class UploadBuffer {
  readonly bytes: Uint8Array;
  received = 0;
  /** Chunks taken so far (the index the next one must have). */
  chunkCount = 0;
  private readonly source: BufferSource | null;

  /** From `place` where it has a buffer (the aggregator's memory), else from `pool`, else new. */
  constructor(
    readonly totalBytes: number,
    pool: BufferSource | null = null,
    place: BufferSource | null = null,
    /** What add() will be told of this update (the upload's begin message). */
    private readonly info?: UpdateInfo,
  ) {
    const placed = place?.take(totalBytes) ?? null;
    const pooled = placed ? null : (pool?.take(totalBytes) ?? null);
    this.bytes = placed ?? pooled ?? new Uint8Array(totalBytes);
    this.source = placed ? place : pooled ? pool : (pool ?? null);
  }

  /** Copies the chunk to its place (and tells the aggregator that lent the buffer, which starts on it). */
  push(data: Uint8Array): void {
    if (this.received + data.length > this.totalBytes) throw new RangeError(`a chunk of ${data.length} bytes after ${this.received} overflows an upload of ${this.totalBytes}`);
    this.bytes.set(data, this.received);
    this.received += data.length;
    this.chunkCount += 1;
    // Only an aggregator's upload place listens (a pool has no `arrived`).
    this.source?.arrived?.(this.bytes, this.received, this.info);
  }

  /** Back to the pool: only once nothing decoded from these bytes is in use. */
  release(): void {
    this.source?.give(this.bytes);
  }
}

export type Accepted = { ok: true; update: NamedTensor[] } | { ok: false; code: 'bad-weights' | 'bad-message'; message: string };

/**
 * Decodes a whole upload (views into `bytes`), checks names and shapes, and hands it to `add`
 * (an aggregator's add, which throws, changing nothing, when the update is not finite or cannot
 * be used). A refusal names the problem as the full check does: a non-finite value by tensor and
 * index ('bad-weights'), anything else the aggregator refused as 'bad-message'.
 */
export function acceptUpdate(bytes: Uint8Array, spec: readonly TensorSpec[], add: (update: NamedTensor[]) => void): Accepted {
  let update: NamedTensor[];
  try {
    update = decodeWeights(bytes, { copy: false });
  } catch (e) {
    return { ok: false, code: 'bad-weights', message: (e as Error).message };
  }
  const problem = checkWeightsAgainst(spec, update, { finite: false });
  if (problem) return { ok: false, code: 'bad-weights', message: problem };
  try {
    add(update);
  } catch (e) {
    // The full check (finiteness too) runs only for a refused update, to name its problem.
    const named = checkWeightsAgainst(spec, update);
    return named ? { ok: false, code: 'bad-weights', message: named } : { ok: false, code: 'bad-message', message: (e as Error).message };
  }
  return { ok: true, update };
}
