import { useState } from 'react';
import { studySettingsOf, type FederationSnapshot, type StudySummary } from '@fedward/protocol';
import type { ConnectionState } from '../../api/admin-socket';
import type { AdminActions } from '../../features/admin-session/admin-actions';
import { ConnectionIndicator } from '../../features/connection/ConnectionIndicator';
import { StaleNotice } from '../../features/connection/StaleNotice';
import { MetricCharts } from './components/MetricCharts';
import { AuditLogPanel } from './components/AuditLogPanel';
import { ChangePasswordForm } from './components/ChangePasswordForm';
import { FederationSummary } from './components/FederationSummary';
import { HospitalsTable } from './components/HospitalsTable';
import { PersonalizationPanel } from './components/PersonalizationPanel';
import { PrivacyPanel } from './components/PrivacyPanel';
import { RoundControls } from './components/RoundControls';
import { RoundsTable } from './components/RoundsTable';
import { ServerLog } from './components/ServerLog';
import { EnrolmentPanel } from './components/EnrolmentPanel';
import { ExportPanel } from './components/ExportPanel';
import { SecureAggregationPanel } from './components/SecureAggregationPanel';
import { DpSgdPanel } from './components/DpSgdPanel';
import { StudiesPanel } from './components/StudiesPanel';
import { StudyControls } from './components/StudyControls';
import { StudyForm } from './components/StudyForm';
import { TokensPanel } from './components/TokensPanel';

/**
 * Data is live only while connected AND the snapshot arrived after that connection began (the
 * server resyncs on every reconnect); anything else is shown dimmed, with its age.
 */
export const isStale = (connection: ConnectionState, snapshotAt: number): boolean => connection.kind !== 'live' || snapshotAt < connection.since;

export function DashboardPage({
  snapshot,
  studies,
  snapshotAt,
  connection,
  actions,
  auditRefreshKey,
  onSignOut,
}: {
  snapshot: FederationSnapshot;
  studies: { studies: StudySummary[]; hospitals: string[] };
  snapshotAt: number;
  connection: ConnectionState;
  actions: AdminActions;
  auditRefreshKey: number;
  onSignOut: () => void;
}) {
  const { config } = snapshot;
  const stale = isStale(connection, snapshotAt);
  const live = !stale;
  const [form, setForm] = useState<'create' | 'edit' | null>(null);
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
      <section className="card" aria-labelledby="studies-heading">
        <h2 id="studies-heading">Studies</h2>
        <StudiesPanel
          studies={studies.studies}
          shown={config.id}
          onShow={(id) => {
            setForm(null);
            actions.watchStudy(id);
          }}
          onNew={() => setForm('create')}
        />
        {form === 'create' && (
          <StudyForm
            key="create"
            mode="create"
            frozen={false}
            initial={{ ...studySettingsOf(config), name: '' }}
            onCancel={() => setForm(null)}
            onSubmit={async (settings) => {
              const { id, calibrated } = await actions.createStudy(settings);
              actions.watchStudy(id);
              setForm(null);
              return `Study created as a draft${calibrated ? `; z = ${calibrated.noiseMultiplier} keeps ε within the budget` : ''}.`;
            }}
          />
        )}
      </section>
      <div className={stale ? 'stale' : undefined} data-testid="dashboard-data" data-stale={stale}>
        <section className="card">
          <h2>{config.name}</h2>
          <StudyControls snapshot={snapshot} controlsEnabled={live} onControl={actions.controlStudy} onEdit={() => setForm('edit')} />
          {form === 'edit' && (
            <StudyForm
              key={`edit-${config.id}`}
              mode="edit"
              frozen={snapshot.frozen}
              initial={studySettingsOf(config)}
              onCancel={() => setForm(null)}
              onSubmit={async (settings) => {
                const { calibrated } = await actions.updateStudy(settings);
                return `Settings saved${calibrated ? `; z = ${calibrated.noiseMultiplier} keeps ε within the budget` : ''}. Hospitals review the new plan before they join again.`;
              }}
            />
          )}
          <FederationSummary snapshot={snapshot} asOf={stale ? snapshotAt : null} />
          <RoundControls snapshot={snapshot} controlsEnabled={live} onEndRound={actions.endRound} onSetDeadline={actions.setDeadline} />
        </section>
        <section className="card">
          <h2>Hospitals</h2>
          <HospitalsTable hospitals={snapshot.hospitals} controlsEnabled={live} onSkip={actions.skipHospital} />
        </section>
        <section className="card">
          <h2>Rounds</h2>
          <MetricCharts rounds={snapshot.rounds} />
          <RoundsTable rounds={snapshot.rounds} segmentation={config.model.kind === 'unet'} />
        </section>
        <section className="card">
          <h2>Take the model home</h2>
          <ExportPanel modelKind={config.model.kind} round={snapshot.rounds.at(-1)?.round ?? 0} controlsEnabled={live} onExport={actions.exportStudyFile} />
        </section>
        <PersonalizationPanel config={config} rounds={snapshot.rounds} />
        <SecureAggregationPanel config={config} secagg={snapshot.secagg} />
        <DpSgdPanel config={config} rounds={snapshot.rounds} />
        <section className="card">
          <h2>Privacy</h2>
          <PrivacyPanel privacy={snapshot.privacy} rounds={snapshot.rounds} stopReason={snapshot.stopReason} />
        </section>
        <section className="card">
          <h2>Enrolment</h2>
          <EnrolmentPanel hospitals={studies.hospitals} enrolled={snapshot.enrolled} controlsEnabled={live} onEnrol={actions.enrolHospital} />
          <h3>Enrolment tokens</h3>
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
