import { useId, useState } from 'react';

/**
 * "End round now" with a confirm step that says what will happen. The confirmation belongs to
 * one round: when the round moves on, it is gone.
 */
export function EndRoundControl({
  round,
  minUpdates,
  uploaded,
  hospitals,
  disabled,
  onEnd,
}: {
  round: number;
  minUpdates: number;
  /** Hospitals whose update for this round is complete, of `hospitals` taking part. */
  uploaded: number;
  hospitals: number;
  disabled: boolean;
  onEnd: (round: number) => void;
}) {
  const [confirming, setConfirming] = useState<number | null>(null);
  const id = useId();
  if (confirming !== round) {
    return (
      <button type="button" className="danger-fill" disabled={disabled} onClick={() => setConfirming(round)}>
        End round now
      </button>
    );
  }
  return (
    <div role="group" aria-labelledby={`${id}-title`} aria-describedby={`${id}-what`} className="confirm" data-testid="end-round-confirm">
      <p id={`${id}-title`}>
        <strong>End round {round} now?</strong>
      </p>
      <p id={`${id}-what`}>
        If at least {minUpdates} valid update{minUpdates === 1 ? ' has' : 's have'} arrived, round {round} is aggregated now from the updates that
        arrived, and late hospitals are left out of it. Otherwise it is cancelled and run again from the start. So far {uploaded} of {hospitals}{' '}
        hospital{hospitals === 1 ? ' has' : 's have'} finished uploading.
      </p>
      <p className="row">
        <button
          type="button"
          className="danger-fill"
          disabled={disabled}
          onClick={() => {
            setConfirming(null);
            onEnd(round);
          }}
        >
          Yes, end round {round}
        </button>
        {/* The safe choice takes the focus when the question appears. */}
        <button type="button" className="secondary" autoFocus onClick={() => setConfirming(null)}>
          Keep training
        </button>
      </p>
    </div>
  );
}
