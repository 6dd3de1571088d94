import type { SentMessage } from '@fedward/client';
import { roundOf } from '../../../api/receipts';

const kib = (bytes: number) => (bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KiB`);

/** A field's value as sent: numbers and text as they are, binary as its length. */
function shown(v: unknown): string {
  if (typeof v === 'object' && v !== null && 'binaryBytes' in v) return `binary, ${kib((v as { binaryBytes: number }).binaryBytes)}`;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Step 5: every message this computer sent to the server in this study, grouped by round, with
 * each field's value and the size sent. Read from IndexedDB, so it is still here after a reload.
 */
export function ReceiptsCard({ receipts }: { receipts: SentMessage[] }) {
  const groups = new Map<string, SentMessage[]>();
  for (const m of receipts) {
    const r = roundOf(m);
    const key = r === null ? 'Joining' : r === 0 ? 'Before round 1' : `Round ${r}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const total = receipts.reduce((n, m) => n + m.bytes, 0);
  return (
    <section className="card" aria-labelledby="receipts-heading" data-testid="receipts">
      <h2 id="receipts-heading">5 · What left this computer</h2>
      {receipts.length === 0 ? (
        <p className="muted">Nothing has been sent to the server in this study yet.</p>
      ) : (
        <>
          <p>
            <span data-testid="receipt-count">{receipts.length}</span> {receipts.length === 1 ? 'message' : 'messages'}, {kib(total)} in all. Your slices
            themselves were never sent.
          </p>
          {[...groups].map(([label, messages]) => (
            <details key={label}>
              <summary>
                {label}: {messages.length} {messages.length === 1 ? 'message' : 'messages'}, {kib(messages.reduce((n, m) => n + m.bytes, 0))}
              </summary>
              <table className="compact receipts">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Message</th>
                    <th scope="col">Size</th>
                    <th scope="col">Fields sent</th>
                  </tr>
                </thead>
                <tbody>
                  {messages.map((m, i) => (
                    <tr key={i} data-testid="receipt" data-message={m.message} data-fields={Object.keys(m.fields).join(',')}>
                      <td className="nowrap">{new Date(m.at).toLocaleTimeString()}</td>
                      <th scope="row">{m.message}</th>
                      <td className="nowrap">{kib(m.bytes)}</td>
                      <td>
                        {Object.entries(m.fields)
                          .map(([k, v]) => `${k}: ${shown(v)}`)
                          .join(' · ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          ))}
        </>
      )}
    </section>
  );
}
