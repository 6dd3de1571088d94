import type { HospitalView } from '@fedward/protocol';

export function HospitalsTable({ hospitals }: { hospitals: HospitalView[] }) {
  if (hospitals.length === 0) return <p className="muted">No hospital has connected yet.</p>;
  return (
    <table data-testid="hospitals">
      <thead>
        <tr>
          <th>Hospital</th>
          <th>Connection</th>
          <th>Activity</th>
          <th>TF.js backend</th>
          <th>Training / held-out slices</th>
          <th>Patient ids</th>
        </tr>
      </thead>
      <tbody>
        {hospitals.map((h) => (
          <tr key={h.name} data-testid="hospital-row">
            <td>{h.name}</td>
            <td>{h.connected ? 'online' : 'offline'}</td>
            <td>
              {h.status
                ? `${h.status.phase} (round ${h.status.round}${h.status.subClients && h.status.subClients > 1 && h.status.subClient !== undefined ? `, sub-client ${h.status.subClient + 1}/${h.status.subClients}` : ''}) ${Math.round(h.status.progress * 100)}%`
                : '—'}
            </td>
            <td data-testid="hospital-backend">{h.backend ?? '—'}</td>
            <td>
              {h.trainSamples} / {h.testSamples}
            </td>
            <td data-testid="hospital-patient-ids">
              {h.patientIds === 'all' ? 'every slice' : h.patientIds === 'some' ? 'some slices: ε per patient is per slice for the rest' : h.patientIds === 'none' ? 'none: ε per patient is per slice here' : '—'}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
