import { useCallback, useState } from 'react';

export type Feedback = { ok: boolean; text: string } | null;

/**
 * Runs one admin action at a time and keeps its outcome as a sentence: `success` words the
 * answer, `failure` the error's message.
 */
export function useActionFeedback() {
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const run = useCallback(async <T,>(action: () => Promise<T>, success: (value: T) => string, failure: (message: string) => string): Promise<boolean> => {
    setBusy(true);
    setFeedback(null);
    try {
      const value = await action();
      setFeedback({ ok: true, text: success(value) });
      return true;
    } catch (e) {
      setFeedback({ ok: false, text: failure((e as Error).message) });
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, feedback, run, clear: useCallback(() => setFeedback(null), []) };
}
