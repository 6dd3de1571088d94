import { clockTime } from '../time/format';

/** Says that what is shown is not live, and how old it is. */
export function StaleNotice({ lastUpdate }: { lastUpdate: number }) {
  return (
    <p className="stale-notice" data-testid="stale-notice">
      <strong>Not live.</strong> Everything below is as of the last update at {clockTime(lastUpdate)} and may be out of date: the round, phase and
      hospitals shown may have moved on. It refreshes by itself once the connection is back; controls are off until then.
    </p>
  );
}
