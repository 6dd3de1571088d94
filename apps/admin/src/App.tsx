import { useAdminSession } from './features/admin-session/useAdminSession';
import { ConnectionIndicator } from './features/connection/ConnectionIndicator';
import { DashboardPage } from './routes/dashboard/DashboardPage';
import { LoginPage } from './routes/login/LoginPage';

export function App() {
  const { state, snapshot, studies, connection, actions, actionCount, signIn, signOut } = useAdminSession();

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
    <DashboardPage
      snapshot={snapshot.data}
      studies={studies}
      snapshotAt={snapshot.at}
      connection={connection}
      actions={actions}
      auditRefreshKey={actionCount}
      onSignOut={signOut}
    />
  );
}
