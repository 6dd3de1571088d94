import type { FederationSnapshot } from '@fedward/protocol';
import { clockTime } from '../../../features/time/format';

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

/** Phase, round and deadline, and the federation's settings in one paragraph. `asOf` is set when the figures are not live. */
export function FederationSummary({ snapshot, asOf }: { snapshot: FederationSnapshot; asOf: number | null }) {
  const { config } = snapshot;
  return (
    <>
      <p className="row">
        <span>
          Phase: <strong data-testid="phase">{snapshot.phase}</strong>
        </span>
        <span>
          Round: <strong data-testid="current-round">{snapshot.phase === 'done' ? config.rounds : snapshot.round}</strong> of {config.rounds}
        </span>
        {snapshot.deadline && <span className="muted">deadline {clockTime(snapshot.deadline)}</span>}
        {asOf !== null && <span className="stale-tag">as of {clockTime(asOf)}, not live</span>}
      </p>
      <p className="muted">
        Model {config.model.kind} {config.model.inputSize}×{config.model.inputSize}×{config.model.channels}, {config.model.numClasses} classes ·{' '}
        {config.training.epochs} local epochs, batch {config.training.batchSize}, learning rate {config.training.learningRate} · a round starts with ≥{' '}
        {config.minClients} hospitals and needs ≥ {config.minUpdates ?? config.minClients} valid updates · {aggregationText(config)}
      </p>
    </>
  );
}
