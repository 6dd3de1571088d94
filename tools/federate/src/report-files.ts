import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { linePlotSvg, type PlotSeries } from '../../../server/src/simulate/svg-plot';
import type { Report } from './report';

export const CHARTS = ['accuracy.svg', 'loss.svg', 'round-times.svg'] as const;

const percent = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`);
const decimal = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(3));
const seconds = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : ms < 600_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;

/** Writes report.json, report.md and the SVG charts into `outDir`. */
export function writeReport(outDir: string, report: Report): void {
  writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  for (const [file, svg] of Object.entries(charts(report))) writeFileSync(join(outDir, file), svg);
  writeFileSync(join(outDir, report.files.markdown), markdown(report));
}

/** Per hospital and their mean, from the initial model (round 0) on. */
function charts(r: Report): Record<(typeof CHARTS)[number], string> {
  const rounds = [...(r.initial ? [{ round: 0, ...r.initial }] : []), ...r.rounds];
  const perHospital = (value: (e: { accuracy: number; loss: number }) => number): PlotSeries[] => [
    ...r.hospitals.map((h) => ({
      name: h.name,
      points: rounds.flatMap((x) => x.evaluations.filter((e) => e.hospital === h.name).map((e) => ({ x: x.round, y: value(e) }))),
    })),
    { name: 'mean', points: rounds.flatMap((x) => (x.evaluations.length ? [{ x: x.round, y: value(metricsOf(x)) }] : [])) },
  ];
  const times: PlotSeries[] = r.hospitals.map((h) => ({
    name: h.name,
    points: h.rounds.flatMap((t) => (t.roundMs === null ? [] : [{ x: t.round, y: t.roundMs / 1000 }])),
  }));
  return {
    'accuracy.svg': linePlotSvg(perHospital((e) => e.accuracy), { title: 'Held-out accuracy of each global model', xLabel: 'round', yLabel: 'accuracy' }),
    'loss.svg': linePlotSvg(perHospital((e) => e.loss), { title: 'Held-out loss of each global model', xLabel: 'round', yLabel: 'loss' }),
    'round-times.svg': linePlotSvg(times, { title: "Each hospital's time per round (train + upload)", xLabel: 'round', yLabel: 'seconds' }),
  };
}

function metricsOf(x: { accuracy: number | null; loss: number | null }): { accuracy: number; loss: number } {
  return { accuracy: x.accuracy ?? Number.NaN, loss: x.loss ?? Number.NaN };
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}

function studyLine(r: Report): string {
  const c = r.study?.config;
  if (!c) return '- Study: not stored (the server did not start it)';
  const clientDp = c.privacy ? `DP z = ${c.privacy.noiseMultiplier}, C = ${c.privacy.clipNorm}, ε ≤ ${c.privacy.targetEpsilon} per ${c.privacy.unit}` : 'no client-level DP';
  const dpSgd = c.dpSgd ? `, DP-SGD in each hospital σ = ${c.dpSgd.noiseMultiplier}, C = ${c.dpSgd.clip}, local ε ≤ ${c.dpSgd.targetEpsilon} per record (${c.dpSgd.sampling} sampling)` : '';
  const dp = c.privacy || c.dpSgd ? `${clientDp}${dpSgd}` : 'no DP';
  const strategy = [c.aggregation?.strategy ?? 'fedavg', c.personalization?.strategy && c.personalization.strategy !== 'fedavg' ? c.personalization.strategy : null]
    .filter(Boolean)
    .join(' + ');
  return (
    `- Study: ${c.name} (\`${c.id}\`): ${c.rounds} rounds, ≥ ${c.minClients} hospitals per round, ${c.model.kind} on ${c.model.inputSize}×${c.model.inputSize} slices, ` +
    `${c.training.epochs} local epochs, batch ${c.training.batchSize}, learning rate ${c.training.learningRate}, ${strategy}, ${dp}`
  );
}

function markdown(r: Report): string {
  const epsilon = r.rounds.some((x) => x.epsilon);
  const lines = [
    '# Fedward federation report',
    '',
    `**${r.headline}**`,
    '',
    studyLine(r),
    `- Hospitals: ${r.data.hospitals.length} ${r.mode === 'browser' ? 'Chromium pages (one browser context each)' : 'Node clients (participate() from @fedward/client)'}; ` +
      `TF.js backend ${r.backendRequested ? `asked for: ${r.backendRequested}` : "chosen by each page's backend ladder"}`,
    `- Data: ${r.data.generated ? 'generated' : 'given'} ${r.data.format.toUpperCase()} federation in \`${r.data.dir}\``,
    `- Run: ${r.startedAt} to ${r.finishedAt} (${seconds(r.wallMs)}); ${r.outcome.ok ? 'finished' : `failed: ${r.outcome.error}`}` +
      (r.outcome.stopReason ? `; the server stopped the study early: ${r.outcome.stopReason}` : ''),
    `- Command: \`npm run federate -- ${r.command.join(' ')}\``,
    '',
    '## Rounds',
    '',
    ...table(
      ['Round', 'Mean accuracy', 'Mean loss', 'Hospitals (updates / evaluations)', 'Round time', ...(epsilon ? ['ε patient / hospital'] : [])],
      [
        ...(r.initial ? [['0 (initial model)', percent(r.initial.accuracy), decimal(r.initial.loss), `— / ${r.initial.evaluations.length}`, '—', ...(epsilon ? ['0'] : [])]] : []),
        ...r.rounds.map((x) => [
          String(x.round),
          percent(x.accuracy),
          decimal(x.loss),
          `${x.participants.length} / ${x.evaluations.length}`,
          seconds(x.wallMs),
          ...(epsilon ? [x.epsilon ? `${x.epsilon.patient.toFixed(2)} / ${x.epsilon.hospital.toFixed(2)}` : '∞ or —'] : []),
        ]),
      ],
    ),
    '',
    '## Hospitals',
    '',
    ...table(
      ['Hospital', 'TF.js backend', 'Slices (train / held-out)', 'Import', 'Startup', 'Mean round', 'Mean upload', 'Final accuracy'],
      r.hospitals.map((h) => [
        h.name,
        (h.backends.length > 1 ? h.backends.join(' → ') : (h.backend ?? '—')) + (h.pageBackend && h.pageBackend !== h.backend ? ` (page: ${h.pageBackend})` : ''),
        `${h.trainSamples ?? '—'} / ${h.testSamples ?? '—'}`,
        seconds(h.importMs),
        seconds(h.startupMs),
        seconds(h.meanRoundMs),
        seconds(h.meanUploadMs),
        percent(h.finalAccuracy),
      ]),
    ),
    '',
    '## Each hospital, each round',
    '',
    ...table(
      ['Round', 'Hospital', 'Train loss', 'Held-out accuracy', 'Held-out loss', 'Training', 'Upload', 'Round'],
      r.rounds.flatMap((x) =>
        r.hospitals.flatMap((h) => {
          const t = h.rounds.find((y) => y.round === x.round);
          return t ? [[String(x.round), h.name, decimal(t.trainLoss), percent(t.accuracy), decimal(t.loss), seconds(t.trainMs), seconds(t.uploadMs), seconds(t.roundMs)]] : [];
        }),
      ),
    ),
    '',
    '## Charts',
    '',
    ...CHARTS.map((f) => `![${f}](${f})`),
    ...(r.files.other.includes('dashboard.png') ? ['', 'The admin dashboard at the end: [dashboard.png](dashboard.png)'] : []),
    '',
    '## How this was measured',
    '',
    '- Accuracy and loss are what each hospital measured on its own held-out patients (about 20 %, never trained on) and stored by the server; the mean gives each hospital one vote, as the admin dashboard does.',
    "- The backend is the one each hospital reported with its updates (what it trained on).",
    '- Import: from picking the folder to the last slice stored. Startup: from joining to the server’s welcome (in a browser: the backend ladder’s self-check and benchmark).',
    `- Round: from the round's start for the hospital to its update being complete; upload: from its first upload byte. ${
      r.mode === 'node'
        ? 'Node hospitals report these steps themselves (exact).'
        : 'Browser steps are read from the admin snapshots, which the server sends at most every 150 ms: an upload shorter than that shows as —, and the hospital whose update completes a round counts until the round’s release.'
    }`,
    '',
  ];
  return lines.join('\n');
}
