import type { FileProblem, FileProblemKind, ImportResult } from '@fedward/data';

/** What the page says after an import, in plain words. */
export interface ImportReport {
  /** 'error' when nothing loaded for a reason the clinician must fix; 'notice' when nothing new was there. */
  tone: 'ok' | 'notice' | 'error';
  headline: string;
  /** Files not imported for a reason other than being stored already, with the reason. */
  problems: FileProblem[];
  /** Files already stored (or twice in the folder), so not stored again. */
  duplicates: FileProblem[];
  /** Whether some slices loaded: only then may the page say "the rest loaded". */
  loaded: boolean;
  warnings: string[];
}

export const EXPECTED =
  'Expected: DICOM (.dcm) or PNG slices, in one subfolder per label (e.g. lesion/ and normal/) or listed in a manifest.csv with "file,label".';

/** Reasons in a few words, for the count of each in the list's heading. */
export const PROBLEM_KINDS: Record<FileProblemKind, string> = {
  unsupported: 'not a DICOM or PNG slice',
  'no-label': 'no label',
  unreadable: 'could not be read',
  manifest: 'manifest not usable',
  duplicate: 'already stored',
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function extensionOf(name: string): string {
  const i = name.lastIndexOf('.');
  return i <= 0 ? '' : name.slice(i + 1).toLowerCase();
}

/** "12 .jpg files, 3 .md files": what a folder holds, by extension, the most common first. */
export function describeFound(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(extensionOf(name), (counts.get(extensionOf(name)) ?? 0) + 1);
  const kinds = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const parts = kinds.slice(0, 5).map(([ext, n]) => (ext ? plural(n, `.${ext} file`) : plural(n, 'file without an extension', 'files without an extension')));
  if (kinds.length > 5) parts.push(`${plural(kinds.slice(5).reduce((a, [, n]) => a + n, 0), 'other file')}`);
  return parts.join(', ');
}

/** "2 could not be read, 1 no label": how many files per reason. */
export function countByKind(problems: readonly FileProblem[]): string {
  const counts = new Map<FileProblemKind, number>();
  for (const p of problems) counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1);
  return [...counts.entries()].map(([kind, n]) => `${n} ${PROBLEM_KINDS[kind]}`).join(', ');
}

/** The report for an empty pick (the browser gives no files for an empty folder). */
export function emptyFolderReport(): ImportReport {
  return { tone: 'error', headline: `The folder you picked is empty: nothing was imported. ${EXPECTED}`, problems: [], duplicates: [], loaded: false, warnings: [] };
}

/** The report for a finished (or cancelled) import of the files named `names`. */
export function importReport(result: ImportResult, names: readonly string[]): ImportReport {
  const all = [...result.failed, ...result.skipped];
  const problems = all.filter((p) => p.kind !== 'duplicate');
  const duplicates = all.filter((p) => p.kind === 'duplicate');
  const base = { problems, duplicates, warnings: result.warnings, loaded: result.imported > 0 };
  if (result.cancelled) return { ...base, loaded: false, tone: 'notice', headline: 'Import cancelled: nothing from this folder was kept.' };
  if (result.imported > 0) {
    const slices = plural(result.imported, 'slice');
    const headline = result.replaced
      ? `Replaced the stored slices with ${slices} from this folder.`
      : result.summary.slices > result.imported
        ? `Added ${slices} to the stored ones.`
        : `Imported ${slices}.`;
    return { ...base, tone: 'ok', headline };
  }
  if (duplicates.length > 0) {
    const n = duplicates.length;
    const others = problems.length > 0 ? ` ${plural(problems.length, 'other file')} could not be imported (listed below).` : '';
    return { ...base, tone: 'notice', headline: `Nothing new: ${n === 1 ? 'the slice' : `all ${n} slices`} in this folder ${n === 1 ? 'is' : 'are'} already stored.${others}` };
  }
  const kept = result.summary.slices > 0 ? ' Your stored slices were kept as they were.' : '';
  return {
    ...base,
    tone: 'error',
    headline: `Nothing was imported. The folder holds ${describeFound(names) || 'no files'}. ${EXPECTED}${kept}`,
  };
}
