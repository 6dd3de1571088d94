import { useCallback } from 'react';
import type { FederationConfig, StudySummary } from '@fedward/protocol';
import type { GlobalModel } from '../../api/global-model';
import { auditDefaults, auditSpec, auditUnsupported, defenceName } from './audit-report';
import { AuditForm } from './components/AuditForm';
import { AuditResults } from './components/AuditResults';
import { useLeakageAudit, type AuditRunState } from './hooks/useLeakageAudit';

/**
 * Issue 18's audit: how much of a hospital's slices a gradient-inversion attack rebuilds from one
 * update, under each defence. It never sees a hospital's update: a demo hospital, simulated in a
 * worker on the package's public demo slices, trains from the study's released global model with
 * the study's public settings, and the attack runs on that.
 */
export function AuditPage({
  config,
  studies,
  onShowStudy,
  loadModel,
}: {
  config: FederationConfig;
  studies: StudySummary[];
  onShowStudy: (id: string) => void;
  loadModel: (study: string) => Promise<GlobalModel>;
}) {
  const study = config.id;
  const { state, run, defences, start, cancel } = useLeakageAudit(useCallback(() => loadModel(study), [loadModel, study]));
  const busy = state.status === 'loading-model' || state.status === 'running';
  const unsupported = auditUnsupported(config);
  const defaults = auditDefaults(config, defences ?? []);
  return (
    <main>
      <h1>Fedward admin: leakage audit</h1>
      <section className="card" aria-labelledby="audit-heading">
        <h2 id="audit-heading">What one update leaks</h2>
        <p>
          <strong>This runs in your browser on demo slices, not on any hospital’s data.</strong> A pretend hospital trains the study’s current global model on one or
          two public demo slices; an attacker who sees that hospital’s update tries to rebuild the slices from it (a gradient-inversion attack). Each defence is
          compared with the same attack. The server never sends this page a hospital’s update.
        </p>
        <div className="row">
          <label className="stack">
            Study
            <select value={study} disabled={busy} onChange={(e) => onShowStudy(e.target.value)}>
              {studies.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name} ({s.round === 0 ? 'no round released yet' : `round ${s.round} released`})
                </option>
              ))}
            </select>
          </label>
        </div>
        <p className="muted" data-testid="leakage-settings">
          The study’s public settings: model {config.model.kind} ({config.model.inputSize}×{config.model.inputSize}), learning rate {defaults.learningRate}, {config.training.epochs} local
          epoch{config.training.epochs === 1 ? '' : 's'}; client-level DP z = {defaults.dp.noiseMultiplier}, C = {defaults.dp.clip}, δ = {defaults.dp.delta}
          {config.privacy ? '' : ' (this study has none: the product’s defaults)'}; DP-SGD σ = {defaults.dpSgd.noiseMultiplier}, C = {defaults.dpSgd.clip}
          {config.dpSgd ? '' : ' (this study has none: the product’s defaults)'}. The demo hospital trains with plain SGD, as the attack assumes.
        </p>
        {unsupported ? (
          <p role="alert" className="error">
            {unsupported}
          </p>
        ) : defences === null ? (
          <p role="status">Loading the attack…</p>
        ) : (
          <AuditForm key={study} initial={defaults} implemented={defences} running={busy} onRun={(settings) => void start(auditSpec(config), settings)} onCancel={cancel} />
        )}
        <RunStatus state={state} />
        {run && 'results' in state && state.results.length > 0 && <AuditResults results={state.results} run={run} />}
      </section>
    </main>
  );
}

/** Where the run is, in words; the progress bar follows the attack's iterations. */
function RunStatus({ state }: { state: AuditRunState }) {
  switch (state.status) {
    case 'idle':
      return null;
    case 'loading-model':
      return (
        <p role="status" data-testid="leakage-status" data-status={state.status}>
          Fetching the study’s global model…
        </p>
      );
    case 'running': {
      const p = state.progress;
      return (
        <div data-testid="leakage-progress">
          <p role="status" data-testid="leakage-status" data-status={state.status}>
            Attacking the update of round {state.round}’s global model{state.backend ? ` (TF.js ${state.backend} backend)` : ''}…
          </p>
          {p && (
            <>
              <label className="stack">
                {defenceName(p.defence)}: restart {p.restart + 1} of {p.restarts}, iteration {p.iteration} of {p.iterations}
                <progress max={p.iterations} value={p.iteration} />
              </label>
              <p className="muted">
                Attack objective (lower: the fake update matches the real one better): <span data-testid="leakage-loss">{p.loss.toFixed(4)}</span>
              </p>
            </>
          )}
        </div>
      );
    }
    case 'done':
      return (
        <p role="status" data-testid="leakage-status" data-status={state.status}>
          Done: the attack ran on an update from round {state.round}’s global model.
        </p>
      );
    case 'cancelled':
      return (
        <p role="status" data-testid="leakage-status" data-status={state.status}>
          Cancelled. The defences finished before that are shown.
        </p>
      );
    case 'error':
      return (
        <p role="alert" className="error" data-testid="leakage-status" data-status={state.status}>
          {state.message}
        </p>
      );
  }
}
