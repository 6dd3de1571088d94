import type { FederationSnapshot } from '@fedward/protocol';
import { LineChart } from '../../features/line-chart/LineChart';
import { HospitalsTable } from './components/HospitalsTable';
import { PersonalizationPanel } from './components/PersonalizationPanel';
import { PrivacyPanel } from './components/PrivacyPanel';
import { RoundsTable } from './components/RoundsTable';
import { TokensPanel } from './components/TokensPanel';

function aggregationText(config: FederationSnapshot['config']): string {
  const personal = config.personalization?.strategy ?? 'fedavg';
  if (personal === 'fedbn') return 'FedBN (normalisation layers stay local)';
  if (personal === 'prr-fl') return 'PRR-FL (personalized models, deputies through Progressive Fourier Aggregation)';
  const strategy = config.aggregation?.strategy ?? 'fedavg';
  const lr = config.aggregation?.serverLearningRate;
  if (strategy === 'fedadam') return `server optimizer FedAdam${lr ? ` (rate ${lr})` : ''}`;
  if (strategy === 'fednova') return 'FedNova (updates normalised by local steps)';
  return config.privacy ? 'DP-FedAvg (uniform weights over clipped updates)' : 'FedAvg weighted by sample count';
}

export function DashboardPage({
  snapshot,
  onCreateToken,
  onRevokeToken,
  onSignOut,
}: {
  snapshot: FederationSnapshot;
  onCreateToken: (hospital: string) => Promise<string>;
  onRevokeToken: (id: number) => Promise<void>;
  onSignOut: () => void;
}) {
  const { config } = snapshot;
  const measured = snapshot.rounds.filter((r) => r.accuracy !== null);
  return (
    <main>
      <header className="row spread">
        <h1>Fedward admin</h1>
        <button className="link" onClick={onSignOut}>Sign out</button>
      </header>
      <section className="card">
        <h2>{config.name}</h2>
        <p className="row">
          <span>Phase: <strong data-testid="phase">{snapshot.phase}</strong></span>
          <span>Round: <strong data-testid="current-round">{snapshot.phase === 'done' ? config.rounds : snapshot.round}</strong> of {config.rounds}</span>
          {snapshot.deadline && <span className="muted">deadline {new Date(snapshot.deadline).toLocaleTimeString()}</span>}
        </p>
        <p className="muted">
          Model {config.model.kind} {config.model.inputSize}×{config.model.inputSize}×{config.model.channels}, {config.model.numClasses} classes ·{' '}
          {config.training.epochs} local epochs, batch {config.training.batchSize}, learning rate {config.training.learningRate} · a round starts
          with ≥ {config.minClients} hospitals and needs ≥ {config.minUpdates ?? config.minClients} valid updates ·{' '}
          {aggregationText(config)}
        </p>
      </section>
      <section className="card">
        <h2>Hospitals</h2>
        <HospitalsTable hospitals={snapshot.hospitals} />
      </section>
      <section className="card">
        <h2>Rounds</h2>
        <LineChart
          testId="metrics-chart"
          yLabel="Global model on the hospitals' held-out slices"
          series={[
            { name: 'accuracy', color: '#2e7d32', points: measured.map((r) => ({ x: r.round, y: r.accuracy! })) },
            { name: 'loss', color: '#c62828', points: measured.map((r) => ({ x: r.round, y: r.loss! })) },
          ]}
        />
        <RoundsTable rounds={snapshot.rounds} />
      </section>
      <PersonalizationPanel config={config} rounds={snapshot.rounds} />
      <section className="card">
        <h2>Privacy</h2>
        <PrivacyPanel privacy={snapshot.privacy} rounds={snapshot.rounds} stopReason={snapshot.stopReason} />
      </section>
      <section className="card">
        <h2>Enrolment tokens</h2>
        <TokensPanel tokens={snapshot.tokens} onCreate={onCreateToken} onRevoke={onRevokeToken} />
      </section>
      <section className="card">
        <h2>Log</h2>
        <ul className="log" data-testid="log">
          {snapshot.log.slice(-30).reverse().map((l, i) => (
            <li key={i} className={`log-${l.level}`}>
              <span className="muted">{new Date(l.at).toLocaleTimeString()}</span> {l.message}
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}
