import type { FederationConfig } from '@fedward/protocol';
import type { FederationData } from './federation-data';
import type { StudyResults } from './study-results';
import type { HospitalRoundTiming, Timeline } from './timeline';

/** report.json: everything report.md shows, as data. Times are milliseconds; accuracy is a fraction. */
export interface Report {
  schema: 'fedward-federate-report/1';
  headline: string;
  outcome: { ok: boolean; error: string | null; stopReason: string | null };
  mode: 'browser' | 'node';
  /** The backend asked for; null: each browser page chose with its own ladder. */
  backendRequested: string | null;
  command: string[];
  startedAt: string;
  finishedAt: string;
  wallMs: number;
  /** Null when the server never stored the study (it did not start). */
  study: { id: string; name: string; status: string; roundsPlanned: number; config: FederationConfig } | null;
  data: FederationData;
  /** The initial model (round 0) on every hospital's held-out slices. */
  initial: RoundMetrics | null;
  rounds: RoundReport[];
  hospitals: HospitalReport[];
  /** The last round the hospitals measured (the last round, unless the run was cut short). */
  final: { round: number; accuracy: number | null; loss: number | null } | null;
  files: { markdown: string; charts: string[]; other: string[] };
}

export interface Evaluation {
  hospital: string;
  testSamples: number;
  accuracy: number;
  loss: number;
}

export interface RoundMetrics {
  /** Mean over the hospitals that evaluated (one vote each, as on the dashboard). */
  accuracy: number | null;
  loss: number | null;
  evaluations: Evaluation[];
}

export interface RoundReport extends RoundMetrics {
  round: number;
  completedAt: string;
  /** From the admin first seeing the round train to the server releasing it. */
  wallMs: number | null;
  participants: { hospital: string; backend: string; trainSamples: number; trainLoss: number; subClients: number; dpSgdEpsilon?: number }[];
  /** ε after this round, per patient and per hospital (DP studies only). */
  epsilon: { patient: number; hospital: number } | null;
}

export interface HospitalReport {
  name: string;
  /** The TF.js backend it reported with its last update (what it actually trained on). */
  backend: string | null;
  /** Every backend it reported, if it changed between rounds. */
  backends: string[];
  /** Browser runs: what the hospital page itself showed. */
  pageBackend?: string | null;
  trainSamples: number | null;
  testSamples: number | null;
  importMs: number | null;
  startupMs: number | null;
  meanRoundMs: number | null;
  meanUploadMs: number | null;
  finalAccuracy: number | null;
  rounds: (HospitalRoundTiming & { trainLoss: number | null; accuracy: number | null; loss: number | null })[];
}

export interface ReportInput {
  mode: 'browser' | 'node';
  backendRequested: string | null;
  command: string[];
  startedAt: number;
  finishedAt: number;
  data: FederationData;
  results: StudyResults | null;
  timeline: Timeline;
  stopReason: string | null;
  error: string | null;
  pageBackends?: Record<string, string | null>;
  files: Report['files'];
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const percent = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);

function metrics(evaluations: Evaluation[]): RoundMetrics {
  return { accuracy: mean(evaluations.map((e) => e.accuracy)), loss: mean(evaluations.map((e) => e.loss)), evaluations };
}

export function buildReport(input: ReportInput): Report {
  const r = input.results;
  const evals = (round: number): Evaluation[] =>
    (r?.evaluations ?? []).filter((e) => e.round === round).map((e) => ({ hospital: e.hospital, testSamples: e.testSamples, accuracy: e.accuracy, loss: e.loss }));
  const rounds: RoundReport[] = (r?.rounds ?? []).map((round) => {
    const started = input.timeline.roundStart(round.round);
    return {
      round: round.round,
      completedAt: new Date(round.completedAt).toISOString(),
      wallMs: started === null ? null : Math.max(0, round.completedAt - started),
      participants: round.participants.map((p) => ({
        hospital: p.hospital,
        backend: p.backend,
        trainSamples: p.trainSamples,
        trainLoss: p.trainLoss,
        subClients: p.subClients,
        // DP-SGD: the hospital's own ε per record after this round, as it reported it.
        ...(p.dpSgdEpsilon !== undefined && { dpSgdEpsilon: p.dpSgdEpsilon }),
      })),
      ...metrics(evals(round.round)),
      epsilon: round.dp?.epsilon ?? null,
    };
  });
  const initialEvals = evals(0);
  // A run cut short may end on a round not measured yet: the final figure is the last one measured.
  const last = rounds.findLast((x) => x.accuracy !== null);
  const hospitals = input.data.hospitals.map((h) => hospitalReport(h.id, rounds, input));
  const report: Report = {
    schema: 'fedward-federate-report/1',
    headline: '',
    outcome: { ok: input.error === null, error: input.error, stopReason: input.stopReason },
    mode: input.mode,
    backendRequested: input.backendRequested,
    command: input.command,
    startedAt: new Date(input.startedAt).toISOString(),
    finishedAt: new Date(input.finishedAt).toISOString(),
    wallMs: input.finishedAt - input.startedAt,
    study: r && { id: r.config.id, name: r.config.name, status: r.status, roundsPlanned: r.config.rounds, config: r.config },
    data: input.data,
    initial: initialEvals.length ? metrics(initialEvals) : null,
    rounds,
    hospitals,
    final: last ? { round: last.round, accuracy: last.accuracy, loss: last.loss } : null,
    files: input.files,
  };
  report.headline = headline(report);
  return report;
}

function hospitalReport(name: string, rounds: RoundReport[], input: ReportInput): HospitalReport {
  const completedAt = new Map(rounds.filter((r) => r.participants.some((p) => p.hospital === name)).map((r) => [r.round, Date.parse(r.completedAt)]));
  const timing = input.timeline.hospital(name, completedAt);
  const contributions = rounds.flatMap((r) => r.participants.filter((p) => p.hospital === name));
  const evaluations = rounds.flatMap((r) => r.evaluations.filter((e) => e.hospital === name));
  const byRound = (round: number) => rounds.find((r) => r.round === round);
  return {
    name,
    backend: contributions.at(-1)?.backend ?? null,
    backends: [...new Set(contributions.map((c) => c.backend))],
    ...(input.pageBackends && { pageBackend: input.pageBackends[name] ?? null }),
    trainSamples: contributions.at(-1)?.trainSamples ?? null,
    testSamples: evaluations.at(-1)?.testSamples ?? null,
    importMs: timing.importMs,
    startupMs: timing.startupMs,
    meanRoundMs: mean(timing.rounds.flatMap((t) => (t.roundMs === null ? [] : [t.roundMs]))),
    meanUploadMs: mean(timing.rounds.flatMap((t) => (t.uploadMs === null ? [] : [t.uploadMs]))),
    finalAccuracy: rounds.at(-1)?.evaluations.find((e) => e.hospital === name)?.accuracy ?? null,
    rounds: timing.rounds.map((t) => {
      const round = byRound(t.round);
      const e = round?.evaluations.find((x) => x.hospital === name);
      return { ...t, trainLoss: round?.participants.find((p) => p.hospital === name)?.trainLoss ?? null, accuracy: e?.accuracy ?? null, loss: e?.loss ?? null };
    }),
  };
}

function headline(r: Report): string {
  const who = `${r.data.hospitals.length} ${r.mode} hospital${r.data.hospitals.length === 1 ? '' : 's'}`;
  const minutes = `${(r.wallMs / 60_000).toFixed(1)} min`;
  const failed = r.outcome.ok ? '' : ` — FAILED: ${r.outcome.error}`;
  if (!r.final) return `${who}: no round finished and measured${r.outcome.stopReason ? ` (${r.outcome.stopReason})` : ''}; ${minutes}${failed}`;
  const done = r.rounds.length;
  const planned = r.study?.roundsPlanned ?? done;
  const of = `${done} of ${planned} round${planned === 1 ? '' : 's'}`;
  const at = r.final.round === done ? '' : ` (round ${r.final.round})`;
  const from = r.initial ? ` (initial model ${percent(r.initial.accuracy)})` : '';
  return `${who}, ${of}: final accuracy${at} ${percent(r.final.accuracy)} on the hospitals' held-out slices${from}; ${minutes}${failed}`;
}
