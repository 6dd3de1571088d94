import type { HospitalView } from '@fedward/protocol';
import { isLeftOut } from './hospital-state';

/** "Skip" (leave out of rounds) or "Let back in" (re-admit; also ends a back-off) for one hospital. */
export function AdmissionButton({ hospital, disabled, onToggle }: { hospital: HospitalView; disabled: boolean; onToggle: (skip: boolean) => void }) {
  const letIn = isLeftOut(hospital);
  return (
    <button
      type="button"
      className={letIn ? undefined : 'secondary'}
      aria-label={`${letIn ? 'Let back in' : 'Skip'} ${hospital.name}`}
      title={letIn ? 'Let it join rounds again' : 'Leave it out of rounds (it is dropped from the current one) until let back in'}
      disabled={disabled}
      onClick={() => onToggle(!letIn)}
    >
      {letIn ? 'Let back in' : 'Skip'}
    </button>
  );
}
