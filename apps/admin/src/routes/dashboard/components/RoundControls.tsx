import type { FederationSnapshot } from '@fedward/protocol';
import { ActionFeedback } from '../../../features/action-feedback/ActionFeedback';
import { useActionFeedback } from '../../../features/action-feedback/useActionFeedback';
import { clockTime } from '../../../features/time/format';
import { DeadlineForm } from './DeadlineForm';
import { EndRoundControl } from './EndRoundControl';

/**
 * The admin's hold on the running round: end it now, or move its deadline. Shown while a round
 * trains; the outcome of the last action stays visible after the round moves on.
 */
export function RoundControls({
  snapshot,
  controlsEnabled,
  onEndRound,
  onSetDeadline,
}: {
  snapshot: FederationSnapshot;
  controlsEnabled: boolean;
  onEndRound: (round: number) => Promise<'aggregated' | 'cancelled'>;
  onSetDeadline: (round: number, seconds: number) => Promise<number>;
}) {
  const { busy, feedback, run } = useActionFeedback();
  const { round, phase, config } = snapshot;
  const training = phase === 'training';
  const inRound = snapshot.hospitals.filter((h) => h.state === 'training' || h.state === 'uploaded');
  const disabled = !controlsEnabled || busy;
  const end = (r: number) =>
    void run(
      () => onEndRound(r),
      (outcome) =>
        outcome === 'aggregated'
          ? `Round ${r} ended: the updates that had arrived were aggregated.`
          : `Round ${r} was cancelled: too few updates had arrived. It runs again.`,
      (m) => `Could not end round ${r}: ${m}`,
    );
  const setDeadline = (seconds: number) =>
    void run(
      () => onSetDeadline(round, seconds),
      (deadline) => `Round ${round} now ends at ${clockTime(deadline)}.`,
      (m) => `Could not move the deadline of round ${round}: ${m}`,
    );
  if (!training && !feedback) return null;
  return (
    <div className="round-controls" data-testid="round-controls">
      {training && (
        <>
          <h3>Round {round} controls</h3>
          <EndRoundControl
            round={round}
            minUpdates={config.minUpdates ?? config.minClients}
            uploaded={inRound.filter((h) => h.state === 'uploaded').length}
            hospitals={inRound.length}
            disabled={disabled}
            onEnd={end}
          />
          <DeadlineForm disabled={disabled} onSet={setDeadline} />
        </>
      )}
      <ActionFeedback feedback={feedback} testId="round-feedback" />
    </div>
  );
}
