import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { DatasetSummary, FileProblem, ImportResult } from '@fedward/data';
import { describeFound, emptyFolderReport, importReport } from '../src/api/import-report';
import { DataCard } from '../src/routes/join/components/DataCard';
import { FILES_LISTED } from '../src/routes/join/components/FileProblemList';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

const summary = (slices: number): DatasetSummary => ({
  slices,
  settings: { size: 32, task: 'classification' },
  labels: slices ? { lesion: slices / 2, normal: slices / 2 } : {},
  modalities: {},
  patients: {},
  patientCount: 0,
  studyCount: 0,
  patientIds: 'all',
  slicesWithoutPatient: 0,
  slicesByStudy: 0,
  slicesUnchecked: 0,
  batches: 0,
  bytes: 0,
  labelsByPatient: {},
  unfinishedImport: null,
});

function result(over: Partial<ImportResult>): ImportResult {
  return {
    imported: 0,
    failed: [],
    skipped: [],
    cancelled: false,
    replaced: false,
    warnings: [],
    seconds: 0,
    waits: { readSeconds: 0, storeSeconds: 0 },
    patients: { patientIds: 'none', withPatient: 0, byStudy: 0, withoutPatient: 0 },
    summary: summary(0),
    ...over,
  };
}

const jpeg = (i: number): FileProblem => ({ file: `photos/img${i}.jpg`, kind: 'unsupported', error: 'JPEG photos are not slices; export DICOM or PNG' });

function card(props: Partial<Parameters<typeof DataCard>[0]>): string {
  const noop = () => undefined;
  return renderToStaticMarkup(
    <DataCard summary={null} samples={[]} progress={null} report={null} pending={null} error={null} inputSize={32} locked={false} onPick={noop} onChoose={noop} onCancel={noop} onRemove={noop} {...props} />,
  );
}

describe('what the page says after an import', () => {
  it('names what a folder holds, by extension', () => {
    expect(describeFound(['a.jpg', 'b.JPG', 'c.md', 'DICOMDIR', 'd.jpg'])).toBe('3 .jpg files, 1 file without an extension, 1 .md file');
  });

  it('a folder of JPEGs and Markdown: an error naming what was found and what is expected, never "the rest loaded"', () => {
    const skipped = [jpeg(1), jpeg(2), { file: 'photos/notes.md', kind: 'unsupported' as const, error: 'not an image slice (.md file); DICOM or PNG expected' }];
    const report = importReport(result({ skipped }), ['img1.jpg', 'img2.jpg', 'notes.md']);
    expect(report.tone).toBe('error');
    expect(report.loaded).toBe(false);
    expect(report.headline).toBe(
      'Nothing was imported. The folder holds 2 .jpg files, 1 .md file. Expected: DICOM (.dcm) or PNG slices, in one subfolder per label (e.g. lesion/ and normal/) or listed in a manifest.csv with "file,label".',
    );
    const html = card({ report });
    expect(text(html)).toContain('3 file(s) could not be imported (3 not a DICOM or PNG slice)');
    expect(html).not.toContain('the rest loaded');
    expect(html).toContain('role="alert"');
    expect(text(html)).toContain('photos/notes.md : not an image slice (.md file); DICOM or PNG expected');
  });

  it('says the stored slices were kept when a folder of nothing was picked over them', () => {
    expect(importReport(result({ skipped: [jpeg(1)], summary: summary(40) }), ['img1.jpg']).headline).toMatch(/Your stored slices were kept as they were\.$/);
  });

  it('an empty folder is an error too', () => {
    expect(emptyFolderReport()).toMatchObject({ tone: 'error', headline: expect.stringMatching(/^The folder you picked is empty: nothing was imported\. Expected: DICOM/) });
  });

  it('"the rest loaded" only when some slices did; replace, add and first import are told apart', () => {
    const failed: FileProblem[] = [{ file: 'a/lesion/x.dcm', kind: 'unreadable', error: 'not a DICOM file' }];
    const report = importReport(result({ imported: 10, failed, summary: summary(10) }), []);
    expect(report.headline).toBe('Imported 10 slices.');
    expect(text(card({ report }))).toContain('1 file(s) could not be imported; the rest loaded (1 could not be read)');
    expect(importReport(result({ imported: 10, replaced: true, summary: summary(10) }), []).headline).toBe('Replaced the stored slices with 10 slices from this folder.');
    expect(importReport(result({ imported: 10, summary: summary(30) }), []).headline).toBe('Added 10 slices to the stored ones.');
  });

  it('a folder already stored: nothing new, a notice (not an error), with the duplicates listed apart', () => {
    const skipped: FileProblem[] = [1, 2].map((i) => ({ file: `a/lesion/${i}.png`, kind: 'duplicate', error: 'already imported (same file contents)' }));
    const report = importReport(result({ skipped, summary: summary(2) }), []);
    expect(report).toMatchObject({ tone: 'notice', headline: 'Nothing new: all 2 slices in this folder are already stored.', problems: [] });
    const html = card({ report });
    expect(html).toContain('data-testid="import-duplicates"');
    expect(html).not.toContain('data-testid="import-problems"');
    // Already stored, next to a file that is no slice: still "nothing new", not "nothing was imported".
    const mixed = importReport(result({ skipped: [...skipped, jpeg(1)], summary: summary(2) }), []);
    expect(mixed).toMatchObject({ tone: 'notice', headline: 'Nothing new: all 2 slices in this folder are already stored. 1 other file could not be imported (listed below).' });
  });

  it('lists the first files by name and counts the rest', () => {
    const skipped = Array.from({ length: FILES_LISTED + 7 }, (_, i) => jpeg(i));
    const html = card({ report: importReport(result({ skipped }), []) });
    expect(html.match(/data-testid="import-problem"/g)).toHaveLength(FILES_LISTED);
    expect(text(html)).toContain('…and 7 more files');
    expect(html).toMatch(/<details class="problems" data-testid="import-problems">/); // closed: long lists stay folded
  });
});

describe('the local-data card', () => {
  it('asks "replace or add" when a folder is picked over stored slices, and no folder can be picked meanwhile', () => {
    const html = card({ summary: summary(160), pending: { files: [] } });
    expect(text(html)).toContain('Replace the stored slices or add to them?');
    expect(html).toContain('>Replace stored slices</button>');
    expect(html).toContain('>Add to them</button>');
    expect(html).toMatch(/<input data-testid="folder-input"[^>]*disabled=""/);
  });

  it('says an import was cut short, with a Remove button', () => {
    const html = card({ summary: { ...summary(40), unfinishedImport: { startedAt: 0, slices: 24 } } });
    expect(html).toContain('data-testid="unfinished-import"');
    expect(text(html)).toContain('The last import did not finish');
    expect(text(html)).toContain('24 of the stored slices come from only part of that folder');
    expect(html.match(/>Remove local data</g)).toHaveLength(1);
  });

  it('shows thumbnails of stored slices, labelled', () => {
    const samples = ['lesion', 'normal'].map((label) => ({ label, size: 4, pixels: new Uint16Array(16).fill(30000) }));
    const html = card({ summary: summary(2), samples });
    expect(html.match(/data-testid="thumbnail"/g)).toHaveLength(2);
    expect(html).toContain('aria-label="Stored slice 2, label normal"');
  });
});
