import type { ConnectionState } from '../../api/admin-socket';
import { clockTime } from '../time/format';

export function connectionText(state: ConnectionState): string {
  if (state.kind === 'live') return 'Live';
  if (state.kind === 'reconnecting') return `Reconnecting… since ${clockTime(state.since)}`;
  return `Offline since ${clockTime(state.since)}`;
}

/** Whether the dashboard is live, and since when it is not. */
export function ConnectionIndicator({ state }: { state: ConnectionState }) {
  return (
    <span role="status" className={`connection connection-${state.kind}`} data-testid="connection" data-state={state.kind}>
      <span className="connection-dot" aria-hidden="true" />
      {connectionText(state)}
    </span>
  );
}
