import type { FederationSnapshot } from '@fedward/protocol';
import type { ConnectionState } from '../../api/admin-socket';
import type { AdminActions } from '../../features/admin-session/admin-actions';
import { ConnectionIndicator } from '../../features/connection/ConnectionIndicator';
import { StaleNotice } from '../../features/connection/StaleNotice';
import { LineChart } from '../../features/line-chart/LineChart';
import { AuditLogPanel } from './components/AuditLogPanel';
import { ChangePasswordForm } from './components/ChangePasswordForm';
import { FederationSummary } from './components/FederationSummary';
import { HospitalsTable } from './components/HospitalsTable';
import { PersonalizationPanel } from './components/PersonalizationPanel';
import { PrivacyPanel } from './components/PrivacyPanel';
import { RoundControls } from './components/RoundControls';
import { RoundsTable } from './components/RoundsTable';
import { ServerLog } from './components/ServerLog';
import { TokensPanel } from './components/TokensPanel';

/**
 * Data is live only while connected AND the snapshot arrived after that connection began (the
 * server resyncs on every reconnect); anything else is shown dimmed, with its age.
 */
export const isStale = (connection: ConnectionState, snapshotAt: number): boolean => connection.kind !== 'live' || snapshotAt < connection.since;

export function DashboardPage({
  snapshot,
  snapshotAt,
  connection,
  actions,
  auditRefreshKey,
  onSignOut,
}: {
  snapshot: FederationSnapshot;
  snapshotAt: number;
  connection: ConnectionState;
  actions: AdminActions;
  auditRefreshKey: number;
  onSignOut: () => void;
}) {
  const { config } = snapshot;
  const measured = snapshot.rounds.filter((r) => r.accuracy !== null);
  const stale = isStale(connection, snapshotAt);
  const live = !stale;
  return (
    <main>
      <header className="row spread">
        <h1>Fedward admin</h1>
        <span className="row">
          <ConnectionIndicator state={connection} />
          <button type="button" className="link" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      {stale && <StaleNotice lastUpdate={snapshotAt} />}
      <div className={stale ? 'stale' : undefined} data-testid="dashboard-data" data-stale={stale}>
        <section className="card">
          <h2>{config.name}</h2>
          <FederationSummary snapshot={snapshot} asOf={stale ? snapshotAt : null} />
          <RoundControls snapshot={snapshot} controlsEnabled={live} onEndRound={actions.endRound} onSetDeadline={actions.setDeadline} />
        </section>
        <section className="card">
          <h2>Hospitals</h2>
          <HospitalsTable hospitals={snapshot.hospitals} controlsEnabled={live} onSkip={actions.skipHospital} />
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
          <TokensPanel tokens={snapshot.tokens} onCreate={actions.createToken} onRevoke={actions.revokeToken} />
        </section>
        <section className="card">
          <h2>Log</h2>
          <ServerLog log={snapshot.log} />
        </section>
      </div>
      <section className="card">
        <h2>Audit log</h2>
        <AuditLogPanel refreshKey={auditRefreshKey} controlsEnabled={connection.kind === 'live'} onLoad={actions.loadAuditLog} onExport={actions.exportAuditCsv} />
      </section>
      <section className="card">
        <h2>Admin password</h2>
        <ChangePasswordForm controlsEnabled={connection.kind === 'live'} onChange={actions.changePassword} />
      </section>
    </main>
  );
}
