import type { HospitalView } from '@fedward/protocol';
import { hospitalStateText } from './hospital-state';

export function HospitalStateCell({ hospital }: { hospital: HospitalView }) {
  return (
    <td data-testid="hospital-state" data-state={hospital.state}>
      <span className={`state state-${hospital.state}`}>{hospitalStateText(hospital)}</span>
      {hospital.note && <div className="muted">{hospital.note}</div>}
    </td>
  );
}
