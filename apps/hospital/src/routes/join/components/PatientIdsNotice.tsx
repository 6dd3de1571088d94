import { useId } from 'react';
import { patientIdStatus, type DatasetSummary } from '@fedward/data';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * Says, in plain words, when some local slices have no patient id: those slices are units of
 * their own, so everything Fedward calls "per patient" (ε, the held-out split, the sub-clients)
 * is per slice for them. Shown after an import and whenever the page shows the local data.
 */
export function PatientIdsNotice({ summary }: { summary: DatasetSummary }) {
  const headingId = useId();
  const status = patientIdStatus(summary);
  if (status.patientIds === 'all' || status.slices === 0) return null;
  const { slices, slicesWithoutPatient: without, slicesByStudy: byStudy, slicesUnchecked: unchecked } = status;
  const perSlice = without - byStudy - unchecked;
  return (
    <section className="notice" role="status" aria-labelledby={headingId} data-testid="patient-ids-notice" data-patient-ids={status.patientIds}>
      <h3 id={headingId}>Note: {status.patientIds === 'none' ? 'no patient ids' : 'patient ids missing for some slices'}</h3>
      <p>
        No patient ids were found for <strong data-testid="slices-without-patient">{without}</strong> of {plural(slices, 'slice', 'slices')}
        {perSlice > 0 && ' (no patient column in manifest.csv, no DICOM PatientID, no patient in the file or folder name)'}.
        {perSlice > 0 &&
          ` ${perSlice === without ? 'Those slices are' : `${plural(perSlice, 'slice is', 'slices are')}`} treated as one person each: privacy ` +
            'figures for them are per slice, not per patient, and the held-out split may put slices of one person on both sides (some ' +
            'trained on, some held out to test the model).'}
      </p>
      {byStudy > 0 && (
        <p>
          {plural(byStudy, 'DICOM slice has', 'DICOM slices have')} no PatientID and {byStudy === 1 ? 'is' : 'are'} grouped by study
          instead (the imaging study recorded in the DICOM file): privacy figures for them are per imaging study, and a person with two imaging
          studies counts as two.
        </p>
      )}
      {unchecked > 0 && (
        <p>
          {plural(unchecked, 'slice was', 'slices were')} imported by an earlier version of Fedward that did not record where the
          patient came from, so {unchecked === 1 ? 'it counts' : 'they count'} as without an id. Remove local data and import the folder
          again to check {unchecked === 1 ? 'it' : 'them'}.
        </p>
      )}
      <p>
        Add a <code>patient</code> column to manifest.csv to fix this.
      </p>
      <details>
        <summary>Other ways to name the patient</summary>
        <ul>
          <li>
            A <code>manifest.csv</code> column named <code>patient</code>, <code>patient_id</code> or <code>PatientID</code>: one id per
            row.
          </li>
          <li>
            File names that start with the patient id and two underscores: <code>A-0001__slice-03.png</code>.
          </li>
          <li>
            One folder per patient named <code>patient-&lt;id&gt;</code>, inside the label folder: <code>lesion/patient-A-0001/slice-03.png</code>.
          </li>
          <li>DICOM files keep their PatientID; Fedward stores only a salted hash of it (a scrambled code made from it).</li>
        </ul>
      </details>
    </section>
  );
}
