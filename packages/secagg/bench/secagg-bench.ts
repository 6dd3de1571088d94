/**
 * SecAgg cost per round: wire bytes per participant against a plain float32 update, a client's
 * masking time (stage 3), and the server's unmasking time, with no dropouts and with ⌊n/4⌋
 * participants dropped after stage 'mask' (so the server must reconstruct their s keys and remove
 * their pairwise masks from every survivor's vector).
 *
 *   npm run bench:secagg [-- --participants 4,16,64 --params 1000000 --json]
 *   npm run bench:secagg -- --quick          (100,000 parameters, 4 and 16 participants)
 *
 * Every participant runs the real stage functions one at a time in this process, so mask_ms is one
 * client's stage 3 alone (the median over all of them); unmask_ms is unmaskSum. Wire bytes count the
 * payload a participant sends and receives (adverts, shares, masked vector, lists, reveal), see
 * src/wire.ts. Each case checks the unmasked sum against the plain sum.
 */
import { parseArgs } from 'node:util';
import { fromRing, runSecAggRound, toRing } from '../src/index';
import type { SecAggRoundResult } from '../src/index';

const { values: a } = parseArgs({
  options: {
    participants: { type: 'string' },
    params: { type: 'string' },
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});
const participants = (a.participants ?? (a.quick ? '4,16' : '4,16,64')).split(',').map(Number);
const params = Number(a.params ?? (a.quick ? '100000' : '1000000'));
if (!participants.every((n) => Number.isInteger(n) && n >= 3) || !Number.isInteger(params) || params < 1) {
  console.error('usage: --participants 4,16,64 (each ≥ 3) --params 1000000 [--json] [--quick]');
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Case {
  participants: number;
  params: number;
  threshold: number;
  dropouts: number;
  wire_bytes_per_participant: number;
  plain_update_bytes: number;
  mask_ms: number;
  unmask_ms: number;
}

// Warm up the JIT (ring loops, Shamir, X25519) so the first case is not charged for it.
{
  const warm = new Map(['w0', 'w1', 'w2', 'w3'].map((id) => [id, new Uint32Array(4096)]));
  await runSecAggRound({ context: 'bench/warm-up', threshold: 3, inputs: warm, dropAfter: [{ stage: 'mask', ids: ['w3'] }] });
}

const cases: Case[] = [];
const started = performance.now();
for (const n of participants) {
  const threshold = Math.ceil((2 * n) / 3);
  const ids = Array.from({ length: n }, (_, i) => `hospital-${String(i).padStart(3, '0')}`);
  // Quantized updates: small integers, so any sum of them fits the signed 32-bit range.
  const plain = new Map(ids.map((id) => [id, Float64Array.from({ length: params }, () => Math.floor(Math.random() * 2001) - 1000)]));
  const inputs = new Map([...plain].map(([id, x]) => [id, toRing(x)]));
  for (const dropouts of [0, Math.floor(n / 4)]) {
    gc?.();
    const gone = ids.filter((_, i) => i % 4 === 3).slice(0, dropouts);
    const t0 = performance.now();
    const r: SecAggRoundResult = await runSecAggRound({
      context: `bench/n${n}/d${dropouts}`,
      threshold,
      inputs,
      dropAfter: dropouts ? [{ stage: 'mask', ids: gone }] : [],
    });
    const seconds = (performance.now() - t0) / 1000;
    const sum = fromRing(r.sum);
    const expected = new Float64Array(params);
    for (const id of r.survivors) plain.get(id)!.forEach((v, i) => (expected[i]! += v));
    if (r.survivors.length !== n - dropouts || sum.some((v, i) => v !== expected[i])) {
      throw new Error(`n = ${n}, ${dropouts} dropouts: the unmasked sum is wrong`);
    }
    const c: Case = {
      participants: n,
      params,
      threshold,
      dropouts,
      wire_bytes_per_participant: r.bytes.perParticipant.total,
      plain_update_bytes: 4 * params,
      mask_ms: Math.round(median(Object.values(r.timings.maskMs)) * 10) / 10,
      unmask_ms: Math.round(r.timings.unmaskMs * 10) / 10,
    };
    cases.push(c);
    console.error(`  n = ${n}, ${dropouts} dropped: round ${seconds.toFixed(1)} s`);
  }
}
const totalSeconds = (performance.now() - started) / 1000;

const header = ['participants', 't', 'dropped', 'params', 'wire B/participant', 'plain B', 'overhead', 'mask ms', 'unmask ms'];
const rows = cases.map((c) => [
  String(c.participants),
  String(c.threshold),
  String(c.dropouts),
  c.params.toLocaleString('en-US'),
  c.wire_bytes_per_participant.toLocaleString('en-US'),
  c.plain_update_bytes.toLocaleString('en-US'),
  `${(100 * (c.wire_bytes_per_participant / c.plain_update_bytes - 1)).toFixed(2)} %`,
  c.mask_ms.toFixed(1),
  c.unmask_ms.toFixed(1),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
console.log(`SecAgg (complete graph), dropouts after stage 'mask', t = ⌈2n/3⌉, node ${process.version}`);
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log(`total ${totalSeconds.toFixed(1)} s`);
if (a.json) console.log(JSON.stringify({ cases }));
