import { ScrollX } from '../../../features/scroll-x/ScrollX';
import { accuracyInterval, MIN_TEST_SLICES } from '@fedward/model-card';
import type { RoundView } from '@fedward/protocol';

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);

/**
 * The 95% Wilson interval of a hospital's held-out accuracy, with its slice count; a held-out set
 * under MIN_TEST_SLICES is flagged as too small to mean much. (Slices of one patient are not
 * independent, so the true uncertainty is wider.)
 */
function interval(accuracy: number, slices: number): string {
  const ci = accuracyInterval(accuracy, slices);
  const range = `95% CI ${Math.round(ci.low * 100)}–${Math.round(ci.high * 100)}%, ${slices} slices`;
  return slices < MIN_TEST_SLICES ? `(${range}: too few to rely on)` : `(${range})`;
}

/** `segmentation`: accuracy is a share of pixels, which are not independent draws: no interval. */
export function RoundsTable({ rounds, segmentation = false }: { rounds: RoundView[]; segmentation?: boolean }) {
  if (rounds.length === 0) return <p className="muted">No finished round yet.</p>;
  return (
    <ScrollX label="Rounds">
    <table data-testid="rounds">
      <thead>
        <tr>
          <th>Round</th>
          <th>Participants</th>
          <th>Mean training loss</th>
          <th>Global accuracy (held-out)</th>
          <th>Global loss (held-out)</th>
          <th>Per hospital</th>
        </tr>
      </thead>
      <tbody>
        {rounds.map((r) => {
          const samples = r.participants.reduce((s, p) => s + p.trainSamples, 0);
          const trainLoss = r.participants.reduce((s, p) => s + p.trainLoss * p.trainSamples, 0) / Math.max(1, samples);
          return (
            <tr key={r.round} data-testid="round-row" data-round={r.round}>
              <td>{r.round}</td>
              <td data-testid="round-participants" title={r.participants.map((p) => `${p.hospital} (${p.backend})`).join(', ')}>
                {r.participants.length}
              </td>
              <td>{trainLoss.toFixed(3)}</td>
              <td data-testid="round-accuracy" data-value={r.accuracy ?? ''}>{pct(r.accuracy)}</td>
              <td>{r.loss === null ? '—' : r.loss.toFixed(3)}</td>
              <td className="muted">{r.evaluations.map((e) => `${e.hospital} ${pct(e.accuracy)}${segmentation ? '' : ` ${interval(e.accuracy, e.testSamples)}`}`).join(' · ')}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
    </ScrollX>
  );
}
