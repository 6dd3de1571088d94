import type { FileProblem } from '@fedward/data';
import { countByKind } from '../../../api/import-report';

/** Files listed by name; a folder of thousands lists these many, then says how many more. */
export const FILES_LISTED = 50;

/**
 * The files an import did not store, each with its reason, in a list that opens and closes
 * (open from the start when it is short). The heading counts the files per reason.
 */
export function FileProblemList({ problems, heading, testId, itemTestId }: { problems: FileProblem[]; heading: string; testId: string; itemTestId: string }) {
  if (problems.length === 0) return null;
  const rest = problems.length - FILES_LISTED;
  return (
    <details className="problems" open={problems.length <= 5} data-testid={testId}>
      <summary>
        {heading} ({countByKind(problems)})
      </summary>
      <ul>
        {problems.slice(0, FILES_LISTED).map((p) => (
          <li key={p.file} data-testid={itemTestId} data-file={p.file} data-kind={p.kind}>
            <code>{p.file}</code>: {p.error}
          </li>
        ))}
        {rest > 0 && (
          <li className="muted" data-testid={`${itemTestId}-more`}>
            …and {rest} more {rest === 1 ? 'file' : 'files'}
          </li>
        )}
      </ul>
    </details>
  );
}
