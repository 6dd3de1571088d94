import type { CardEvaluation, LedgerEntry, PrivacyCard } from './schema';
import {
  ACCOUNTANT_WORDS,
  AGGREGATION_WORDS,
  CLIP_RULE_WORDS,
  MODEL_WORDS,
  NORMALIZATION_WORDS,
  OPTIMIZER_WORDS,
  PATIENT_ID_WORDS,
  PERSONALIZATION_WORDS,
  RELEASE_WORDS,
  SUB_CLIENT_WORDS,
  TERMS,
  formatDelta,
  formatEpsilon,
  formatPercent,
  formatSetting,
} from './wording';

/*
 * The card as one printable page: self-contained (inline style, no script, no external resource),
 * so it can be saved, mailed and printed as it is. Every value reaches the page through the `html`
 * template below, which escapes whatever is not already markup: a hospital or study name is text,
 * never HTML.
 */

/** Markup that is already safe (built by `html`). */
class Markup {
  constructor(readonly text: string) {}
}
type Part = string | number | Markup | null | undefined | false | readonly Part[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function renderPart(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Markup) return part.text;
  if (Array.isArray(part)) return part.map(renderPart).join('');
  return escapeHtml(String(part));
}

/** A template whose interpolations are escaped unless they are Markup themselves. */
function html(strings: TemplateStringsArray, ...values: Part[]): Markup {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += renderPart(v) + strings[i + 1]!;
  });
  return new Markup(out);
}

const STYLE = `
:root { color-scheme: light; }
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #111; background: #fff; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 1.75rem 0 .5rem; border-bottom: 2px solid #333; padding-bottom: .15rem; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .4rem; }
p, li, dd { max-width: 48rem; }
.study { font-size: 1.15rem; margin: 0 0 .75rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
dl.terms dt { font-weight: 600; margin-top: .5rem; }
dl.terms dd { margin: 0 0 0 1rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .95em; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; caption-side: top; }
th, td { border: 1px solid #888; padding: .3rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #e8e8e8; }
tbody th { font-weight: 600; background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.warning { border: 2px solid #8a1c1c; background: #fdeaea; padding: .5rem .75rem; }
.small { font-size: .9em; color: #333; }
footer { margin-top: 2rem; border-top: 1px solid #888; padding-top: .5rem; font-size: .9em; }
@page { margin: 16mm 14mm; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  table { break-inside: auto; }
  tr, th, td { break-inside: avoid; }
  thead { display: table-header-group; }
  .warning { background: none; }
}
`;

/** The card as a complete, printable HTML document (lang="en"). */
export function renderPrivacyCardHtml(card: PrivacyCard): string {
  const { study } = card;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Privacy model card: ${study.name}</title>
<style>${new Markup(STYLE)}</style>
</head>
<body>
<main>
<header>
<h1>Privacy model card</h1>
<p class="study">${study.name} <span class="small">(study ${study.id})</span></p>
<dl class="meta">
<dt>Made</dt><dd>${formatDate(card.createdAt)}</dd>
<dt>Software</dt><dd>${card.software.name} ${card.software.version}</dd>
<dt>Study plan digest</dt><dd>${card.planDigest ?? 'none (no study plan was reviewed by the hospitals)'}</dd>
${card.copyFor === null ? '' : html`<dt>Copy for</dt><dd>${card.copyFor}: only this hospital’s own counts and results are listed</dd>`}
</dl>
</header>
${summary(card)}
${taskSection(card)}
${trainingSection(card)}
${dataSection(card)}
${privacySection(card)}
<section aria-labelledby="release">
<h2 id="release">What leaves the server</h2>
<ul>${card.releasePolicy.map((s) => html`<li>${s}</li>`)}</ul>
</section>
${evaluationSection(card)}
<footer>
<p>This card lists only public settings, values released with noise, the privacy cost (ε) they carry, and what each hospital reported about itself. It was made by ${card.software.name} ${card.software.version} from the study’s records on ${formatDate(card.createdAt)}.</p>
</footer>
</main>
</body>
</html>
`;
  return page.text;
}

function formatDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function summary(card: PrivacyCard): Markup {
  const { study, privacy } = card;
  const slices = card.data.reduce((n, d) => n + d.trainSlices, 0);
  const privacyLine = !privacy
    ? 'No differential privacy: the released models carry no formal privacy guarantee.'
    : !privacy.private
      ? 'Differential privacy was configured, but the median size limit makes it void: ε is infinite (no guarantee).'
      : `Differential privacy: ε per patient ${formatEpsilon(privacy.spent?.patient ?? 0)}, ε per hospital ${formatEpsilon(privacy.spent?.hospital ?? 0)} spent so far, at δ = ${formatDelta(privacy.delta)}; budget ${formatSetting(privacy.targetEpsilon)} per ${privacy.unit}.`;
  return html`<section aria-labelledby="summary">
<h2 id="summary">In short</h2>
<ul>
<li>A ${MODEL_WORDS[study.task.model]} trained by ${card.data.length} hospital${card.data.length === 1 ? '' : 's'} on ${slices.toLocaleString('en-US')} slices, which never left the hospitals.</li>
<li>${study.rounds.run} of ${study.rounds.planned} planned rounds run.</li>
<li>${privacyLine}</li>
</ul>
</section>`;
}

function row(header: string, value: Part): Markup {
  return html`<tr><th scope="row">${header}</th><td>${value}</td></tr>`;
}

function taskSection(card: PrivacyCard): Markup {
  const t = card.study.task;
  const classes =
    t.kind === 'segmentation'
      ? html`one output per pixel: the chance it belongs to the region${t.labels ? html` (${t.labels[0]})` : ''}`
      : html`${t.classes}${t.labels ? html`, in output order: ${t.labels.join(', ')}` : ' (names not recorded)'}`;
  return html`<section aria-labelledby="task">
<h2 id="task">What the model does</h2>
<table>
<tbody>
${row('Model', MODEL_WORDS[t.model])}
${row('Input', `${t.inputSize} × ${t.inputSize} pixels, ${t.channels} channel${t.channels === 1 ? '' : 's'} per slice`)}
${row('Preparation of each slice', NORMALIZATION_WORDS[t.normalization])}
${row(t.kind === 'segmentation' ? 'Output' : 'Classes', classes)}
</tbody>
</table>
</section>`;
}

function trainingSection(card: PrivacyCard): Markup {
  const { rounds, strategy, training } = card.study;
  return html`<section aria-labelledby="training">
<h2 id="training">How it was trained</h2>
<table>
<tbody>
${row('Rounds', `${rounds.run} run of ${rounds.planned} planned`)}
${row('How updates are combined', AGGREGATION_WORDS[strategy.aggregation])}
${row('Personalisation', PERSONALIZATION_WORDS[strategy.personalization])}
${row('Training at each hospital, per round', `${training.epochs} pass${training.epochs === 1 ? '' : 'es'} over its slices, ${training.batchSize} slices at a time`)}
${row('Learning rate', formatSetting(training.learningRate))}
${row('Optimiser', OPTIMIZER_WORDS[training.optimizer])}
</tbody>
</table>
</section>`;
}

function dataSection(card: PrivacyCard): Markup {
  const total = (key: 'trainSlices' | 'testSlices') => card.data.reduce((n, d) => n + d[key], 0);
  return html`<section aria-labelledby="data">
<h2 id="data">The data</h2>
<p>Counts only, as each hospital reported them. Held-out slices are kept back at each hospital, by patient, to measure the model; they are never trained on.</p>
<table>
<caption>Slices per hospital</caption>
<thead><tr><th scope="col">Hospital</th><th scope="col">Training slices</th><th scope="col">Held-out slices</th><th scope="col">Patient ids</th></tr></thead>
<tbody>
${card.data.map(
  (d) =>
    html`<tr><th scope="row">${d.hospital}</th><td class="num">${d.trainSlices}</td><td class="num">${d.testSlices}</td><td>${d.patientIds ? PATIENT_ID_WORDS[d.patientIds] : 'not reported'}</td></tr>`,
)}
</tbody>
<tfoot><tr><th scope="row">All hospitals</th><td class="num">${total('trainSlices')}</td><td class="num">${total('testSlices')}</td><td></td></tr></tfoot>
</table>
</section>`;
}

function privacySection(card: PrivacyCard): Markup {
  const p = card.privacy;
  if (!p) {
    return html`<section aria-labelledby="privacy">
<h2 id="privacy">Privacy guarantee</h2>
<p class="warning">This study ran without differential privacy. The models it released were computed from the hospitals’ updates without added noise, and there is no bound on how much they reveal about any patient.</p>
</section>`;
  }
  return html`<section aria-labelledby="privacy">
<h2 id="privacy">Privacy guarantee</h2>
<p>The study uses differential privacy: before the server releases anything computed from the hospitals’ updates, it limits each update’s size and adds random noise. The privacy cost ε bounds how much one patient (or one hospital) can change what is released; it adds up over the rounds.</p>
${!p.private && html`<p class="warning">No guarantee holds: the size limit C is the median of each round’s update sizes, computed without noise, so ε is infinite.</p>`}
<dl class="terms">${TERMS.map((t) => html`<dt>${t.term}</dt><dd>${t.meaning}</dd>`)}</dl>
<h3>Settings</h3>
<table>
<tbody>
${row('Noise', 'discrete Gaussian noise on the integer sum of the updates')}
${row('Budget (target ε)', `${formatSetting(p.targetEpsilon)}, counted per ${p.unit}`)}
${row('ε spent so far', p.private ? `${formatEpsilon(p.spent?.patient ?? 0)} per patient, ${formatEpsilon(p.spent?.hospital ?? 0)} per hospital` : '∞ (not private)')}
${row('δ', formatDelta(p.delta))}
${row('Noise multiplier z', formatSetting(p.noiseMultiplier))}
${row('Size limit C', `${formatSetting(p.clipNorm)} (${CLIP_RULE_WORDS[p.clipRule]})`)}
${row('Updates per hospital per round (sub-clients)', `${p.subClients.next} next round; ${SUB_CLIENT_WORDS[p.subClients.mode]}`)}
${row('Accounting', ACCOUNTANT_WORDS[p.accountant])}
${row('“Per patient” means', p.relations.patient)}
${row('“Per hospital” means', p.relations.hospital)}
</tbody>
</table>
${p.warnings.length > 0 && html`<h3>Warnings from the accounting</h3><ul>${p.warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
${ledgerTable(p.ledger)}
</section>`;
}

function ledgerTable(ledger: readonly LedgerEntry[]): Markup {
  if (ledger.length === 0) return html`<h3>Privacy ledger</h3><p>No round has run yet: nothing has been released and no ε spent.</p>`;
  return html`<h3>Privacy ledger</h3>
<table>
<caption>Every round, what it released and the total ε after it</caption>
<thead><tr><th scope="col">Round</th><th scope="col">Released</th><th scope="col">Noise multiplier z</th><th scope="col">Size limit C</th><th scope="col">Updates per hospital (sub-clients)</th><th scope="col">Updates summed</th><th scope="col">ε per patient after the round</th><th scope="col">ε per hospital after the round</th></tr></thead>
<tbody>
${ledger.map(
  (e) =>
    html`<tr><th scope="row">${e.round}</th><td>${e.released.map((r) => RELEASE_WORDS[r]).join('; ')}${e.probe ? ' (trial round: the model did not change)' : ''}</td><td class="num">${formatSetting(e.noiseMultiplier)}</td><td class="num">${formatSetting(e.clip)}</td><td class="num">${e.virtualClients}</td><td class="num">${e.updates}</td><td class="num">${formatEpsilon(e.epsilon?.patient)}</td><td class="num">${formatEpsilon(e.epsilon?.hospital)}</td></tr>`,
)}
</tbody>
</table>`;
}

function evaluationSection(card: PrivacyCard): Markup {
  const deputy = card.evaluation.some((e) => e.deputy);
  const cell = (accuracy: number, ci: CardEvaluation['ci95']) =>
    html`<td class="num">${formatPercent(accuracy)}</td><td class="num">${ci ? `${formatPercent(ci.low)} – ${formatPercent(ci.high)}` : '—'}</td>`;
  return html`<section aria-labelledby="evaluation">
<h2 id="evaluation">How well the model did</h2>
${card.evaluationNotes.map((n) => html`<p class="small">${n}</p>`)}
${
  card.evaluation.length === 0
    ? html`<p>No hospital has reported an evaluation yet.</p>`
    : html`<table>
<caption>Accuracy on each hospital’s held-out slices, round by round</caption>
<thead><tr><th scope="col">Round</th><th scope="col">Hospital</th><th scope="col">Held-out slices</th><th scope="col">Accuracy</th><th scope="col">95% interval</th>${deputy && html`<th scope="col">Deputy accuracy</th><th scope="col">Deputy 95% interval</th>`}<th scope="col">Note</th></tr></thead>
<tbody>
${card.evaluation.map(
  (e) =>
    html`<tr><td class="num">${e.round}</td><th scope="row">${e.hospital}</th><td class="num">${e.testSlices}</td>${cell(e.accuracy, e.ci95)}${deputy && (e.deputy ? cell(e.deputy.accuracy, e.deputy.ci95) : html`<td>—</td><td>—</td>`)}<td>${e.note ?? ''}</td></tr>`,
)}
</tbody>
</table>`
}
</section>`;
}
