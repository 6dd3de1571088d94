import type { FederationSnapshot, RoundView } from '@fedward/protocol';

/**
 * One line per hospital as it is welcomed and one per round as it is measured, from the admin
 * snapshots. A round's line waits for every participant's evaluation of the new model (the
 * accuracy the dashboard shows); `flush` prints whatever is left at the end.
 */
export function progressPrinter(log: (line: string) => void, roundStart: (round: number) => number | null) {
  const welcomed = new Set<string>();
  const printed = new Set<number>();
  let latest: FederationSnapshot | null = null;

  const roundLine = (s: FederationSnapshot, r: RoundView) => {
    printed.add(r.round);
    const started = roundStart(r.round);
    const took = started !== null && r.completedAt !== null ? `, ${((r.completedAt - started) / 1000).toFixed(1)} s` : '';
    const accuracy = r.accuracy === null ? 'not measured' : `accuracy ${(r.accuracy * 100).toFixed(1)} %, loss ${r.loss!.toFixed(3)}`;
    log(`round ${r.round}/${s.config.rounds}: ${accuracy} (${r.participants.length} updates, ${r.evaluations.length} evaluations${took})`);
  };

  return {
    snapshot(s: FederationSnapshot): void {
      latest = s;
      for (const h of s.hospitals) {
        if (!h.connected || h.state === 'starting' || welcomed.has(h.name)) continue;
        welcomed.add(h.name);
        log(`${h.name} is in: TF.js ${h.backend ?? '?'}, ${h.trainSamples} training and ${h.testSamples} held-out slices`);
      }
      for (const r of s.rounds) {
        if (printed.has(r.round)) continue;
        const measured = r.evaluations.length >= r.participants.length;
        const overtaken = s.rounds.some((x) => x.round > r.round);
        if (measured || overtaken) roundLine(s, r);
      }
    },
    flush(): void {
      for (const r of latest?.rounds ?? []) if (!printed.has(r.round)) roundLine(latest!, r);
    },
  };
}
