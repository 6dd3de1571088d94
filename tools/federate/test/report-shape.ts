import type { Report } from '../src/report';

const fraction = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1;
const duration = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/**
 * What a finished run's report.json must hold, as a list of what is missing (empty when complete):
 * every planned round with every hospital's update and evaluation, and every hospital with its
 * backend and timings. Shared by the Node (vitest) and browser (Playwright) tests.
 */
export function reportProblems(r: Report, expected: { mode: 'browser' | 'node'; hospitals: string[]; rounds: number }): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const names = [...expected.hospitals].sort();
  check(r.schema === 'fedward-federate-report/1', `schema is ${r.schema}`);
  check(r.outcome.ok && r.outcome.error === null, `outcome: ${JSON.stringify(r.outcome)}`);
  check(r.mode === expected.mode, `mode is ${r.mode}`);
  check(typeof r.headline === 'string' && r.headline.includes('final accuracy'), `headline: ${r.headline}`);
  check(duration(r.wallMs) && r.wallMs > 0, `wallMs: ${r.wallMs}`);
  check(r.study?.roundsPlanned === expected.rounds, `rounds planned: ${r.study?.roundsPlanned}`);
  check(JSON.stringify(r.data.hospitals.map((h) => h.id).sort()) === JSON.stringify(names), `data hospitals: ${r.data.hospitals.map((h) => h.id)}`);
  check(r.initial !== null && r.initial.evaluations.length === names.length, 'the initial model is not evaluated by every hospital');
  check(
    JSON.stringify(r.rounds.map((x) => x.round)) === JSON.stringify(Array.from({ length: expected.rounds }, (_, i) => i + 1)),
    `rounds: ${r.rounds.map((x) => x.round)}`,
  );
  for (const x of r.rounds) {
    check(JSON.stringify(x.participants.map((p) => p.hospital).sort()) === JSON.stringify(names), `round ${x.round} updates: ${x.participants.map((p) => p.hospital)}`);
    check(JSON.stringify(x.evaluations.map((e) => e.hospital).sort()) === JSON.stringify(names), `round ${x.round} evaluations: ${x.evaluations.map((e) => e.hospital)}`);
    check(fraction(x.accuracy) && typeof x.loss === 'number', `round ${x.round} accuracy ${x.accuracy}, loss ${x.loss}`);
    check(x.evaluations.every((e) => fraction(e.accuracy) && e.testSamples > 0), `round ${x.round} has an evaluation out of range`);
    check(x.wallMs === null || duration(x.wallMs), `round ${x.round} wallMs ${x.wallMs}`);
  }
  check(r.final?.round === expected.rounds && fraction(r.final.accuracy), `final: ${JSON.stringify(r.final)}`);
  check(JSON.stringify(r.hospitals.map((h) => h.name).sort()) === JSON.stringify(names), `hospitals: ${r.hospitals.map((h) => h.name)}`);
  for (const h of r.hospitals) {
    check(['webgpu', 'webgl', 'wasm', 'cpu'].includes(h.backend ?? ''), `${h.name} backend: ${h.backend}`);
    check(duration(h.importMs) && h.importMs! > 0, `${h.name} importMs: ${h.importMs}`);
    check(duration(h.startupMs), `${h.name} startupMs: ${h.startupMs}`);
    check(JSON.stringify(h.rounds.map((t) => t.round)) === JSON.stringify(r.rounds.map((x) => x.round)), `${h.name} timed rounds: ${h.rounds.map((t) => t.round)}`);
    for (const t of h.rounds) check(duration(t.roundMs) && duration(t.trainMs) && fraction(t.accuracy), `${h.name} round ${t.round}: ${JSON.stringify(t)}`);
    check(fraction(h.finalAccuracy), `${h.name} final accuracy: ${h.finalAccuracy}`);
  }
  check(r.files.markdown === 'report.md' && r.files.charts.length === 3, `files: ${JSON.stringify(r.files)}`);
  return problems;
}
