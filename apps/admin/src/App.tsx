import { useState } from 'react';
import { PageNav, useHashPage } from '@fedward/ui/PageNav';
import { useAdminSession } from './features/admin-session/useAdminSession';
import { ConnectionIndicator } from './features/connection/ConnectionIndicator';
import { AuditPage } from './routes/audit/AuditPage';
import { DashboardPage } from './routes/dashboard/DashboardPage';
import { LoginPage } from './routes/login/LoginPage';

/** Pages by URL hash (#/audit), as in the hospital app: the server serves one index.html. */
const PAGES = [
  { hash: '#/', name: 'Dashboard' },
  { hash: '#/audit', name: 'Audit' },
] as const;

/** The page shown, and whether the Audit page was ever opened in this tab (it stays mounted after). */
function usePageHash(): { page: (typeof PAGES)[number]['hash']; auditOpened: boolean } {
  const page = useHashPage(PAGES);
  const [auditOpened, setAuditOpened] = useState(page === '#/audit');
  // Derived state kept across renders: set during render, as React documents for this case.
  if (page === '#/audit' && !auditOpened) setAuditOpened(true);
  return { page, auditOpened };
}

export function App() {
  const { state, snapshot, studies, connection, actions, actionCount, signIn, signOut } = useAdminSession();
  const { page, auditOpened } = usePageHash();

  if (state.kind !== 'signed-in' || !actions) {
    return (
      <LoginPage
        message={state.kind === 'signed-out' ? state.message : null}
        busy={state.kind === 'connecting' ? (state.resuming ? 'resuming' : 'signing-in') : null}
        onLogin={(password) => void signIn(password)}
      />
    );
  }
  if (!snapshot || !connection) {
    return (
      <main>
        <header className="row spread">
          <h1>Fedward admin</h1>
          {connection && <ConnectionIndicator state={connection} />}
        </header>
        <p className="muted" role="status">
          Signed in; waiting for the federation’s state…
        </p>
      </main>
    );
  }
  return (
    <>
      <PageNav pages={PAGES} current={page} />
      <div hidden={page !== '#/'}>
        <DashboardPage
          snapshot={snapshot.data}
          studies={studies}
          snapshotAt={snapshot.at}
          connection={connection}
          actions={actions}
          auditRefreshKey={actionCount}
          onSignOut={signOut}
        />
      </div>
      {/*
        Mounted once opened (its worker loads TF.js, which a dashboard-only visit never needs), then
        only hidden on the other page: unmounting it would stop an attack that is running.
      */}
      {auditOpened && (
        <div hidden={page !== '#/audit'}>
          <AuditPage config={snapshot.data.config} studies={studies.studies} onShowStudy={actions.watchStudy} loadModel={actions.loadGlobalModel} />
        </div>
      )}
    </>
  );
}
