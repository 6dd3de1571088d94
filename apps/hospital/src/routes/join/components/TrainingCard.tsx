import { DP_SGD_ACCOUNTANT_LABELS, type SecAggStage } from '@fedward/protocol';
import { ProgressBar } from '../../../features/progress-bar/ProgressBar';
import { isRunning } from '../hooks/federation-state';
import type { FederationState } from '../hooks/useFederation';
import { SentTable } from './SentTable';

const DET_TEXT: Record<'recover' | 'exchange' | 'sublimate', string> = {
  recover: 'Recover (the personalized model teaches the deputy)',
  exchange: 'Exchange (both models teach each other)',
  sublimate: 'Sublimate (the deputy teaches the personalized model)',
};

const PHASE_TEXT: Record<FederationState['phase'], string> = {
  idle: 'Not joined',
  starting: 'Starting the training engine…',
  rejoining: 'Rejoining…',
  waiting: 'Waiting for the next round',
  training: 'Training on local slices',
  uploading: 'Sending the model update',
  evaluating: 'Measuring the new shared model',
  done: 'Federation finished',
  error: 'Stopped',
};

/** "2 threads", or which part runs on fewer where the training kernels' workers did not start. */
function threadsLabel(t: { backend: number; kernels: number }): string {
  const threads = `${t.kernels} thread${t.kernels === 1 ? '' : 's'}`;
  return t.kernels === t.backend ? threads : `${threads} for training, ${t.backend} for other steps`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const SECAGG_STAGE_TEXT: Record<SecAggStage, string> = {
  advertise: 'sending keys',
  share: 'sharing keys',
  mask: 'sending the masked sum',
  reveal: 'removing the masks',
};

/** Secure aggregation: what it means, the stage this hospital finished, and the last round's outcome. */
function SecureAggregationNote({ secagg }: { secagg: NonNullable<FederationState['secagg']> }) {
  const r = secagg.result;
  return (
    <div data-testid="secagg" data-stage={secagg.stage}>
      <p className="muted">
        Secure aggregation is on: this hospital’s update never leaves this computer as it is. Only the sum of this round’s updates, hidden under
        masks that cancel out when the hospitals’ sums are added, is sent, and the server can read only the total of several hospitals.
      </p>
      <p>
        Round {secagg.round}, {SECAGG_STAGE_TEXT[secagg.stage]}: {secagg.detail}
      </p>
      {r && (
        <p data-testid="secagg-result" data-summed={r.summed ?? ''}>
          Last round: the server read only the total of {r.summed ?? 0} hospitals’ updates (at least {r.threshold} of {r.participants} were needed)
          {r.dropped.length > 0 ? `; dropped: ${r.dropped.map((d) => `${d.hospital} (at ${SECAGG_STAGE_TEXT[d.stage]})`).join(', ')}` : ''}.
        </p>
      )}
    </div>
  );
}

/**
 * DP-SGD on this computer: the local ε per record after every local epoch (a live status line),
 * and, once the watchdog stopped training, why: the budget, what is spent, and where the next
 * round would have taken it.
 */
function DpSgdNote({ dp }: { dp: NonNullable<FederationState['dpSgd']> }) {
  return (
    <div data-testid="dp-sgd" data-epsilon={dp.epsilon} data-stopped={String(dp.stopped)}>
      <p className="muted">
        Private training on this computer (DP-SGD): each {dp.unit}’s influence on every training step is capped and hidden under noise. This computer
        counts the privacy spent (ε per {dp.unit}) and stops training before it would pass this hospital’s budget of {dp.target}.
      </p>
      <p role="status" data-testid="dp-sgd-local-epsilon" data-epsilon={dp.epsilon} data-round={dp.round} data-epoch={dp.epoch ?? ''}>
        Local ε per {dp.unit}: <span data-testid="dp-sgd-epsilon-value">{dp.epsilon.toFixed(3)}</span> of {dp.target}
        {dp.epoch !== null && ` (round ${dp.round}, epoch ${dp.epoch}${dp.epochs !== null ? ` of ${dp.epochs}` : ''})`}
        <span className="muted" data-testid="dp-sgd-accountant" data-sampling={dp.sampling ?? 'poisson'}>
          {' '}
          · accountant: {DP_SGD_ACCOUNTANT_LABELS[dp.sampling ?? 'poisson']}
        </span>
      </p>
      {dp.stopped && dp.projected !== null && (
        <p role="alert" data-testid="dp-sgd-stopped">
          <strong>The privacy watchdog stopped training here before round {dp.round}:</strong> that round would take ε per {dp.unit} from{' '}
          {dp.epsilon.toFixed(3)} (spent so far) to {dp.projected.toFixed(3)}, past this hospital’s budget of {dp.target}. Nothing more is sent; the
          other hospitals go on without this one.
        </p>
      )}
    </div>
  );
}

export function TrainingCard({
  state,
  allPatientIds = true,
  canJoin,
  blockers,
  onJoin,
  onLeave,
}: {
  state: FederationState;
  /** Whether every local slice has a patient id: otherwise "each patient" holds only where the id is known. */
  allPatientIds?: boolean;
  canJoin: boolean;
  /** Why joining is not possible yet, in plain words. */
  blockers: string[];
  onJoin: () => void;
  onLeave: () => void;
}) {
  const personalized = state.history.some((h) => h.deputyAccuracy !== undefined);
  const running = isRunning(state.phase);
  const e = state.epoch;
  return (
    <section className="card">
      <h2>4 · Federated training</h2>
      <div className="row">
        <button onClick={onJoin} disabled={!canJoin || running}>Join round</button>
        {running && (
          <button
            className="link"
            onClick={() => {
              const question = 'Leave this study now? Training on this computer stops, and this hospital sends nothing more until you press “Join round” again.';
              if (window.confirm(question)) onLeave();
            }}
          >
            Leave
          </button>
        )}
        <span data-testid="phase" className={`phase phase-${state.phase}`}>
          {state.phase === 'error' && state.refused
            ? 'Stopped by the server'
            : state.phase === 'done' && state.dpSgd?.stopped
              ? 'Stopped: this hospital’s privacy budget is spent'
              : PHASE_TEXT[state.phase]}
        </span>
        {state.round !== null && <span className="muted">round <span data-testid="round">{state.round}</span></span>}
        {/* Kept with the history, so a reload still says why it ended (e.g. the privacy watchdog). */}
        {state.phase === 'done' && state.finished?.reason && (
          <span className="muted" data-testid="finished-reason">
            Ended after round {state.finished.round}: {state.finished.reason}
          </span>
        )}
        {state.backend && (
          <span className="muted">
            Training engine (TF.js backend): <span data-testid="backend">{state.backend}</span>
          </span>
        )}
      </div>
      {!running && blockers.length > 0 && (
        <div role="status" data-testid="join-blockers">
          <p className="muted">Joining is not possible yet:</p>
          <ul>
            {blockers.map((b) => (
              <li key={b}>{b}</li>
            ))}
          </ul>
        </div>
      )}
      {state.error &&
        (state.refused ? (
          <p className="error" role="alert" data-testid="refusal">
            The server ended this hospital’s participation: {state.error}. It does not reconnect by itself; ask the federation admin if this is
            unexpected.
          </p>
        ) : (
          <p className="error" role="alert">{state.error}</p>
        ))}
      {state.ladder.length > 0 && (
        <details data-testid="ladder">
          <summary>Training engines (TF.js backends) tried on this computer</summary>
          <table>
            <thead>
              <tr>
                <th>Engine</th>
                <th>Result</th>
                <th>Milliseconds per training step</th>
              </tr>
            </thead>
            <tbody>
              {state.ladder.map((r) => (
                <tr key={r.backend} data-testid={`ladder-${r.backend}`} data-ok={String(r.ok)}>
                  <td data-kernel-threads={r.backend === 'wasm' ? state.wasmThreads?.kernels : undefined}>
                    {r.backend}
                    {r.backend === 'wasm' && state.wasmThreads !== null && ` (${threadsLabel(state.wasmThreads)})`}
                  </td>
                  <td>{r.ok ? (r.backend === state.backend ? 'chosen' : 'passed') : r.error}</td>
                  <td data-testid="ladder-ms">{r.msPerStep !== undefined ? r.msPerStep.toFixed(1) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      {state.subClients && state.subClients.slices.length > 1 && (
        <div data-testid="sub-clients" data-count={state.subClients.slices.length}>
          <p className="muted">
            The server asked for {plural(state.subClients.requested, 'sub-client')}: this hospital’s training slices are split into that many
            parts, and each part trains its own copy of the shared model and sends its own update, whose size is capped (clipped) separately.
            {allPatientIds
              ? ' Each patient is in one part only (placed by a keyed hash: a fixed rule with a key that never leaves this browser), so one patient only ever changes one part’s update.'
              : ' Where the patient id is known, each patient is in one part only (placed by a keyed hash: a fixed rule with a key that never leaves this browser), so one patient only ever changes one part’s update; for slices without a patient id, see the note in step 3.'}{' '}
            Every part sends an update: a part with no patients sends the unchanged model.
            {state.subClients.probe &&
              ' This is the probe round (a trial round): the server measures how strong the noise is compared with the updates, and throws away this round’s combined model.'}
          </p>
          {state.subClients.slices.map((n, i) => (
            <ProgressBar
              key={i}
              label={`Sub-client ${i + 1} of ${state.subClients!.slices.length}`}
              value={state.subClients!.progress[i] ?? 0}
              detail={`${n === 0 ? 'no patients this round (sends the unchanged model)' : plural(n, 'slice')}${state.subClients!.uploaded[i] ? ' · uploaded' : ''}`}
              testId={`sub-client-${i + 1}`}
            />
          ))}
        </div>
      )}
      {state.secagg && <SecureAggregationNote secagg={state.secagg} />}
      {state.dpSgd && <DpSgdNote dp={state.dpSgd} />}
      {state.det && state.phase === 'training' && (
        <p data-testid="det-stage" data-stage={state.det.stage}>
          Deputy-Enhanced Transfer (PRR-FL: this hospital trains a personalized model that never leaves this computer, and a “deputy” that it exchanges with
          the server), pass {state.det.epoch} over the training slices: <strong>{DET_TEXT[state.det.stage]}</strong>{' '}
          <span className="muted">
            (training macro-F1, a score from 0 to 100% that counts every class equally: personalized {state.det.personalF1.toFixed(1)}%, deputy{' '}
            {state.det.deputyF1.toFixed(1)}%)
          </span>
        </p>
      )}
      {e && (state.phase === 'training' || state.phase === 'uploading') && (
        <ProgressBar
          label={`Pass ${e.epoch} of ${e.epochs} over the training slices`}
          value={e.batch / e.batches}
          detail={`step ${e.batch} of ${e.batches}${Number.isFinite(e.loss) ? ` · training loss ${e.loss.toFixed(3)}` : ''}`}
          testId="epoch-progress"
        />
      )}
      {state.upload && state.phase === 'uploading' && (
        <ProgressBar
          label="Upload"
          value={state.upload.sent / state.upload.total}
          detail={`${(state.upload.sent / 1024).toFixed(0)} / ${(state.upload.total / 1024).toFixed(0)} KiB`}
          testId="upload-progress"
        />
      )}
      <h3>{personalized ? 'This hospital’s personalized model, tested on its held-out slices' : 'The shared model, tested on this hospital’s held-out slices'}</h3>
      {state.history.length === 0 ? (
        <p className="muted">No measurement yet.</p>
      ) : (
        <table data-testid="history">
          <thead>
            <tr>
              <th>After round</th>
              <th>Accuracy</th>
              {personalized && <th title="Accuracy of the deputy: the model this hospital exchanges with the server">Deputy accuracy</th>}
              <th title="How far the model’s answers were from the labels; lower is better">Loss</th>
              <th title="Held-out slices the model was tested on">Slices</th>
            </tr>
          </thead>
          <tbody>
            {state.history.map((h) => (
              <tr key={h.round} data-testid={`history-round-${h.round}`}>
                <td>{h.round === 0 ? 'start' : h.round}</td>
                <td data-testid="accuracy">{(h.accuracy * 100).toFixed(1)}%</td>
                {personalized && <td data-testid="deputy-accuracy">{h.deputyAccuracy === undefined ? '—' : `${(h.deputyAccuracy * 100).toFixed(1)}%`}</td>}
                <td>{h.loss.toFixed(3)}</td>
                <td>{h.samples}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <SentTable sent={state.sent} history={state.history} />
      {state.messages.length > 0 && (
        <ul className="messages" data-testid="messages">
          {state.messages.slice(-6).map((m, i) => (
            <li key={i}>{m}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
