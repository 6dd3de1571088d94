import { ScrollX } from '../../../features/scroll-x/ScrollX';
import type { HospitalStatus, HospitalView } from '@fedward/protocol';
import { ActionFeedback } from '../../../features/action-feedback/ActionFeedback';
import { useActionFeedback } from '../../../features/action-feedback/useActionFeedback';
import { agoText } from '../../../features/time/format';
import { useNow } from '../../../features/time/useNow';
import { AdmissionButton } from './AdmissionButton';
import { HospitalStateCell } from './HospitalStateCell';

function activityText(s: HospitalStatus | null): string {
  if (!s) return '—';
  const sub = s.subClients && s.subClients > 1 && s.subClient !== undefined ? `, sub-client ${s.subClient + 1}/${s.subClients}` : '';
  return `${s.phase} (round ${s.round}${sub}) ${Math.round(s.progress * 100)}%`;
}

function patientIdsText(ids: HospitalView['patientIds']): string {
  if (ids === 'all') return 'every slice';
  if (ids === 'some') return 'some slices: ε per patient is per slice for the rest';
  if (ids === 'none') return 'none: ε per patient is per slice here';
  return '—';
}

export function HospitalsTable({
  hospitals,
  controlsEnabled,
  onSkip,
}: {
  hospitals: HospitalView[];
  /** False while the dashboard is not live: a skip must never act on a stale view. */
  controlsEnabled: boolean;
  onSkip: (hospital: string, skip: boolean) => Promise<void>;
}) {
  const now = useNow();
  const { busy, feedback, run } = useActionFeedback();
  if (hospitals.length === 0) return <p className="muted">No hospital has connected yet.</p>;
  const toggle = (name: string, skip: boolean) =>
    void run(
      () => onSkip(name, skip),
      () => (skip ? `${name} is left out of rounds until you let it back in.` : `${name} may join rounds again.`),
      (m) => `Could not ${skip ? 'skip' : 'let back in'} ${name}: ${m}`,
    );
  return (
    <>
      <ScrollX label="Hospitals">
      <table data-testid="hospitals">
        <thead>
          <tr>
            <th>Hospital</th>
            <th>State</th>
            <th>Last seen</th>
            <th>Activity</th>
            <th>TF.js backend</th>
            <th>Training / held-out slices</th>
            <th>Patient ids</th>
            <th>
              <span className="visually-hidden">Admission</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {hospitals.map((h) => (
            <tr key={h.name} data-testid="hospital-row">
              <td>{h.name}</td>
              <HospitalStateCell hospital={h} />
              <td data-testid="hospital-last-seen">{h.lastSeen === undefined ? '—' : agoText(h.lastSeen, now)}</td>
              <td>{activityText(h.status)}</td>
              <td data-testid="hospital-backend">{h.backend ?? '—'}</td>
              <td>
                {h.trainSamples} / {h.testSamples}
              </td>
              <td data-testid="hospital-patient-ids">{patientIdsText(h.patientIds)}</td>
              <td>
                <AdmissionButton hospital={h} disabled={!controlsEnabled || busy} onToggle={(skip) => toggle(h.name, skip)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </ScrollX>
      <ActionFeedback feedback={feedback} testId="skip-feedback" />
    </>
  );
}
