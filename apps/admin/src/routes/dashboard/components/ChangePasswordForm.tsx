import { useId, useState } from 'react';
import { ActionFeedback } from '../../../features/action-feedback/ActionFeedback';
import { useActionFeedback } from '../../../features/action-feedback/useActionFeedback';

const MIN_LENGTH = 12;

/** What is wrong with the new password, or null when it may be sent. */
export function newPasswordProblem(current: string, next: string, confirm: string): string | null {
  if (!current) return 'Enter the current password.';
  if (next.length < MIN_LENGTH) return `The new password needs at least ${MIN_LENGTH} characters.`;
  if (next !== confirm) return 'The new password and its confirmation differ.';
  if (next === current) return 'The new password is the same as the current one.';
  return null;
}

export function ChangePasswordForm({ controlsEnabled, onChange }: { controlsEnabled: boolean; onChange: (current: string, next: string) => Promise<void> }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const { busy, feedback, run } = useActionFeedback();
  const [problem, setProblem] = useState<string | null>(null);
  const id = useId();
  return (
    <form
      className="stack"
      data-testid="change-password"
      onSubmit={async (e) => {
        e.preventDefault();
        const p = newPasswordProblem(current, next, confirm);
        setProblem(p);
        if (p) return;
        const done = await run(
          () => onChange(current, next),
          () => 'Password changed. Every other admin session (other tabs and browsers) was signed out; sign in with the new password from now on.',
          (m) => `Password not changed: ${m}`,
        );
        if (done) {
          setCurrent('');
          setNext('');
          setConfirm('');
        }
      }}
    >
      <label htmlFor={`${id}-current`}>Current password</label>
      <input id={`${id}-current`} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
      <label htmlFor={`${id}-next`}>New password</label>
      <input
        id={`${id}-next`}
        type="password"
        autoComplete="new-password"
        aria-describedby={`${id}-hint`}
        value={next}
        onChange={(e) => setNext(e.target.value)}
      />
      <span id={`${id}-hint`} className="muted">
        At least {MIN_LENGTH} characters.
      </span>
      <label htmlFor={`${id}-confirm`}>Confirm new password</label>
      <input id={`${id}-confirm`} type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
      <p>
        <button type="submit" disabled={!controlsEnabled || busy}>
          Change password
        </button>
      </p>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <ActionFeedback feedback={feedback} testId="change-password-feedback" />
    </form>
  );
}
