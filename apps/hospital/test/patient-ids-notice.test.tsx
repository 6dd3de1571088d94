import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { DatasetSummary } from '@fedward/data';
import { PatientIdsNotice } from '../src/routes/join/components/PatientIdsNotice';

const base: DatasetSummary = {
  slices: 120,
  labels: { lesion: 60, normal: 60 },
  modalities: { PNG: 120 },
  patients: {},
  patientCount: 50,
  studyCount: 50,
  patientIds: 'some',
  slicesWithoutPatient: 37,
  slicesByStudy: 0,
  slicesUnchecked: 0,
  batches: 2,
  bytes: 0,
  labelsByPatient: {},
  unfinishedImport: null,
};
const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ');

describe('PatientIdsNotice', () => {
  it('says in plain words how many slices lack a patient id, what that means, and how to fix it', () => {
    const html = renderToStaticMarkup(<PatientIdsNotice summary={base} />);
    expect(html).toContain('data-testid="patient-ids-notice"');
    expect(html).toContain('role="status"');
    expect(html).toMatch(/<h3 id="[^"]+">Note: patient ids missing for some slices<\/h3>/);
    expect(text(html)).toContain('No patient ids were found for 37 of 120 slices (no patient column in manifest.csv, no DICOM PatientID');
    expect(text(html)).toContain('treated as one person each: privacy figures for them are per slice, not per patient');
    expect(text(html)).toContain('held-out split may put slices of one person on both sides');
    expect(text(html)).toContain('Add a patient column to manifest.csv to fix this.');
    expect(html).toContain('<details><summary>');
  });

  it('is not shown when every slice has a patient id; a summary from before the field reads as "none"', () => {
    expect(renderToStaticMarkup(<PatientIdsNotice summary={{ ...base, patientIds: 'all', slicesWithoutPatient: 0 }} />)).toBe('');
    const legacy = { ...base } as Partial<DatasetSummary>;
    delete legacy.patientIds;
    delete legacy.slicesWithoutPatient;
    delete legacy.slicesByStudy;
    delete legacy.slicesUnchecked;
    const html = renderToStaticMarkup(<PatientIdsNotice summary={legacy as DatasetSummary} />);
    expect(html).toContain('data-patient-ids="none"');
    expect(text(html)).toContain('No patient ids were found for 120 of 120 slices');
    expect(text(html)).toContain('imported by an earlier version of Fedward');
  });

  it('explains DICOM slices grouped by study', () => {
    const html = renderToStaticMarkup(<PatientIdsNotice summary={{ ...base, patientIds: 'none', slicesWithoutPatient: 120, slicesByStudy: 120 }} />);
    expect(text(html)).toContain('120 DICOM slices have no PatientID and are grouped by study instead');
    expect(text(html)).not.toContain('treated as one person each');
  });
});
