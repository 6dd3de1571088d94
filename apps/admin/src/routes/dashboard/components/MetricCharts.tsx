import type { RoundView } from '@fedward/protocol';
import { LineChart, type Series } from '../../../features/line-chart/LineChart';

/** Distinct, dark enough on white for text (WCAG AA), and told apart by their labels too. */
const PALETTE = ['#1b5e20', '#0d47a1', '#b71c1c', '#4a148c', '#e65100', '#004d40', '#880e4f', '#3e2723'];

/**
 * The global model on each hospital's own held-out slices, round by round: accuracy on a fixed
 * 0–1 axis and loss on its own axis (they do not share a scale), one line per hospital and the
 * mean over hospitals (one vote each).
 */
export function MetricCharts({ rounds }: { rounds: RoundView[] }) {
  const hospitals = [...new Set(rounds.flatMap((r) => r.evaluations.map((e) => e.hospital)))].sort();
  if (hospitals.length === 0) return null;
  const per = (metric: 'accuracy' | 'loss'): Series[] => [
    {
      name: 'mean',
      color: '#222222',
      points: rounds.filter((r) => r[metric] !== null).map((r) => ({ x: r.round, y: r[metric]! })),
    },
    ...hospitals.map((h, i) => ({
      name: h,
      color: PALETTE[i % PALETTE.length]!,
      points: rounds.flatMap((r) => r.evaluations.filter((e) => e.hospital === h).map((e) => ({ x: r.round, y: e[metric] }))),
    })),
  ];
  return (
    <div className="charts">
      <LineChart testId="accuracy-chart" yMax={1} yLabel="Accuracy of the global model on each hospital's held-out slices, by round" series={per('accuracy')} />
      <LineChart testId="loss-chart" yLabel="Loss of the global model on each hospital's held-out slices, by round" series={per('loss')} />
    </div>
  );
}
