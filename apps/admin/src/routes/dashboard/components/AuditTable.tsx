import { ScrollX } from '../../../features/scroll-x/ScrollX';
import type { AuditEntry } from '@fedward/protocol';
import { dateTime } from '../../../features/time/format';

/** Audit entries, newest first; the entry where the chain broke (if any) is marked. */
export function AuditTable({ entries, brokenAt }: { entries: AuditEntry[]; brokenAt: number | null }) {
  if (entries.length === 0) return <p className="muted">The audit log is empty.</p>;
  const newestFirst = [...entries].sort((a, b) => b.id - a.id);
  return (
    <div className="scroll">
      <ScrollX label="Audit log entries">
      <table className="compact" data-testid="audit-table">
        <caption className="muted">
          {entries.length} latest {entries.length === 1 ? 'entry' : 'entries'}, newest first
        </caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {newestFirst.map((e) => (
            <tr key={e.id} data-testid="audit-row" data-action={e.action} className={e.id === brokenAt ? 'tampered' : undefined}>
              <td>{e.id}</td>
              <td className="nowrap">{dateTime(e.at)}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </ScrollX>
    </div>
  );
}
