import type { Feedback } from './useActionFeedback';

/** An action's outcome: a polite status when it worked, an alert when it did not. */
export function ActionFeedback({ feedback, testId }: { feedback: Feedback; testId?: string }) {
  if (!feedback) return null;
  return feedback.ok ? (
    <p className="feedback" role="status" data-testid={testId}>
      {feedback.text}
    </p>
  ) : (
    <p className="error" role="alert" data-testid={testId}>
      {feedback.text}
    </p>
  );
}
