import { useId, useState } from 'react';

const MIN_SECONDS = 5;
const MAX_SECONDS = 7 * 24 * 3600;

/** Moves the current round's deadline to some minutes from now. */
export function DeadlineForm({ disabled, onSet }: { disabled: boolean; onSet: (seconds: number) => void }) {
  const [minutes, setMinutes] = useState('5');
  const [invalid, setInvalid] = useState<string | null>(null);
  const id = useId();
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        const seconds = Math.round(Number(minutes) * 60);
        if (!minutes.trim() || !Number.isFinite(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
          setInvalid('Enter a number of minutes between 0.1 and 10080 (7 days).');
          return;
        }
        setInvalid(null);
        onSet(seconds);
      }}
    >
      <label htmlFor={`${id}-minutes`}>New deadline, in minutes from now</label>
      <input
        id={`${id}-minutes`}
        className="number"
        type="number"
        inputMode="decimal"
        min={0.1}
        max={MAX_SECONDS / 60}
        step="any"
        value={minutes}
        aria-invalid={invalid ? true : undefined}
        aria-describedby={invalid ? `${id}-invalid` : undefined}
        onChange={(e) => setMinutes(e.target.value)}
      />
      <button type="submit" disabled={disabled}>
        Set deadline
      </button>
      {invalid && (
        <span id={`${id}-invalid`} className="error" role="alert">
          {invalid}
        </span>
      )}
    </form>
  );
}
