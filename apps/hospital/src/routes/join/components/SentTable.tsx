import type { RoundRecord, SentRound } from '../../../types/federation';

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Everything this hospital sent to the server, round by round: its model updates (one per
 * sub-client, with the slice count and training loss they reported) and the evaluation of each
 * global model on its held-out slices. Kept across reloads with the rest of the history.
 */
export function SentTable({ sent, history }: { sent: SentRound[]; history: RoundRecord[] }) {
  const rounds = [...new Set([...sent.map((s) => s.round), ...history.map((h) => h.round)])].sort((a, b) => a - b);
  if (rounds.length === 0) return null;
  return (
    <details data-testid="sent" open>
      <summary>What this hospital sent to the server</summary>
      <table>
        <thead>
          <tr>
            <th>Round</th>
            <th>Model updates</th>
            <th>Trained on</th>
            <th>Size</th>
            <th title="How far the model’s answers were from the labels during training; lower is better">Training loss</th>
            <th>Evaluation reported</th>
          </tr>
        </thead>
        <tbody>
          {rounds.map((round) => {
            const s = sent.find((r) => r.round === round);
            const h = history.find((r) => r.round === round);
            return (
              <tr key={round} data-testid={`sent-round-${round}`}>
                <td>{round === 0 ? 'start' : round}</td>
                <td data-testid="sent-updates">{s ? s.updates : '—'}</td>
                <td>{s ? plural(s.slices, 'slice') : '—'}</td>
                <td>{s ? kib(s.bytes) : '—'}</td>
                <td>{s?.trainLoss != null ? s.trainLoss.toFixed(3) : '—'}</td>
                <td>{h ? `accuracy ${(h.accuracy * 100).toFixed(1)}%, loss ${h.loss.toFixed(3)} on ${plural(h.samples, 'held-out slice')}` : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </details>
  );
}
