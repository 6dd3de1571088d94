import { ScrollX } from '../../../features/scroll-x/ScrollX';
import type { StudySummary } from '@fedward/protocol';

const STATUS_WORDS: Record<StudySummary['status'], string> = {
  draft: 'Draft (not started)',
  running: 'Running',
  paused: 'Paused',
  stopped: 'Stopped',
};

export const statusWords = (s: StudySummary['status']): string => STATUS_WORDS[s];

/** Every study on the server; one is shown below, and a new one can be created. */
export function StudiesPanel({
  studies,
  shown,
  onShow,
  onNew,
}: {
  studies: StudySummary[];
  shown: string;
  onShow: (id: string) => void;
  onNew: () => void;
}) {
  return (
    <div>
      <ScrollX label="Studies">
      <table className="compact" data-testid="studies">
        <caption className="visually-hidden">Studies on this server</caption>
        <thead>
          <tr>
            <th scope="col">Study</th>
            <th scope="col">Status</th>
            <th scope="col">Rounds done</th>
            <th scope="col">Hospitals</th>
            <th scope="col">
              <span className="visually-hidden">Show</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {studies.map((s) => (
            <tr key={s.id} aria-current={s.id === shown ? 'true' : undefined} className={s.id === shown ? 'current' : undefined}>
              <th scope="row">{s.name}</th>
              <td>{statusWords(s.status)}</td>
              <td>
                {s.round} of {s.rounds}
              </td>
              <td>{s.hospitals}</td>
              <td>
                {s.id === shown ? (
                  <span className="muted">shown below</span>
                ) : (
                  <button type="button" className="link" onClick={() => onShow(s.id)}>
                    Show <span className="visually-hidden">{s.name}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </ScrollX>
      <p>
        <button type="button" onClick={onNew}>
          New study…
        </button>
      </p>
    </div>
  );
}
