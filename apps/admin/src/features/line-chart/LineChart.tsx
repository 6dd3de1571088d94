export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

/** A dependency-free SVG line chart: rounds on x, one or more metrics on y. */
export function LineChart({ series, yLabel, testId, yMax: fixedMax }: { series: Series[]; yLabel: string; testId?: string; yMax?: number }) {
  const width = 520;
  const height = 220;
  const pad = { left: 48, right: 16, top: 12, bottom: 32 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return null;
  const xMax = Math.max(1, ...all.map((p) => p.x));
  // A fixed top (1 for accuracy) keeps charts comparable; loss scales to its largest value.
  const yMax = fixedMax ?? Math.max(1e-9, ...all.map((p) => p.y));
  const sx = (x: number) => pad.left + (x / xMax) * (width - pad.left - pad.right);
  const sy = (y: number) => height - pad.bottom - (y / yMax) * (height - pad.top - pad.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => t * yMax);
  return (
    <svg viewBox={`0 0 ${width} ${height}`} className="chart" data-testid={testId} role="img" aria-label={yLabel}>
      {ticks.map((t) => (
        <g key={t}>
          <line x1={pad.left} x2={width - pad.right} y1={sy(t)} y2={sy(t)} stroke="#e3e8ee" />
          <text x={pad.left - 6} y={sy(t) + 4} textAnchor="end" fontSize="10">{t.toFixed(2)}</text>
        </g>
      ))}
      {Array.from({ length: xMax + 1 }, (_, x) => (
        <text key={x} x={sx(x)} y={height - 12} textAnchor="middle" fontSize="10">{x}</text>
      ))}
      <text x={width / 2} y={height - 1} textAnchor="middle" fontSize="10">round</text>
      {series.map((s) => (
        <g key={s.name}>
          <polyline fill="none" stroke={s.color} strokeWidth="2" points={s.points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')} />
          {s.points.map((p) => (
            <circle key={p.x} cx={sx(p.x)} cy={sy(p.y)} r="3" fill={s.color}>
              <title>{`${s.name} after round ${p.x}: ${p.y.toFixed(3)}`}</title>
            </circle>
          ))}
        </g>
      ))}
      {series.map((s, i) => (
        <text key={s.name} x={pad.left + 8 + (i % 4) * 110} y={pad.top + 10 + Math.floor(i / 4) * 13} fill={s.color} fontSize="11">{s.name}</text>
      ))}
    </svg>
  );
}
