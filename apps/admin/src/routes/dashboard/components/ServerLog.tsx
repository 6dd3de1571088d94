import type { LogEntry } from '@fedward/protocol';
import { clockTime } from '../../../features/time/format';

/** The server's last 30 log lines, newest first. */
export function ServerLog({ log }: { log: LogEntry[] }) {
  return (
    <ul className="log" data-testid="log">
      {log
        .slice(-30)
        .reverse()
        .map((l, i) => (
          <li key={i} className={`log-${l.level}`}>
            <span className="muted">{clockTime(l.at)}</span> {l.message}
          </li>
        ))}
    </ul>
  );
}
