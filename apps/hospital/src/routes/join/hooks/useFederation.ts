import { useCallback, useEffect, useRef, useState } from 'react';
import type { DatasetSummary } from '@fedward/data';
import type { SentMessage } from '@fedward/client';
import type { HospitalPrivacyView } from '@fedward/protocol';
import type { StudyOffer } from '../../../types/federation';
import { appendReceipts, loadReceipts } from '../../../api/receipts';
import type { FederationReply, FederationRequest } from '../../../workers/federation.worker';
import { splitSizes } from '../../../api/local-data';
import { historyKey, loadHistory, markJoined, markLeft, mergeRounds, newJoinId, saveHistory } from '../../../api/round-history';
import { initialFederationState, isRunning, reduce, type FederationState } from './federation-state';

export type { FederationState } from './federation-state';

/**
 * Runs this hospital's participation in a worker (federation.worker.ts) and folds its events
 * into what the page shows. Leaving terminates the worker.
 *
 * What the hospital did (evaluations, updates sent, the federation's end) is kept in IndexedDB
 * under the enrolment `token` as it happens, and shown again when the page loads. If it was
 * taking part when the page went away (reload, closed tab, crash), `rejoinPending` is true: the
 * page then calls `join(…, { rejoin: true })`, or `cancelRejoin(why)` when it cannot.
 */
export function useFederation(token: string | null, study: string | null) {
  const [state, setState] = useState<FederationState>(initialFederationState);
  /** Every message sent to the server in this study, oldest first (kept in IndexedDB). */
  const [receipts, setReceipts] = useState<SentMessage[]>([]);
  /** The study's budget as the server last said (null until it did, or without DP). */
  const [privacy, setPrivacy] = useState<HospitalPrivacyView | null>(null);
  const [rejoinPending, setRejoinPending] = useState(false);
  /** The history key of `token`, once its stored history has been read into the state. */
  const [key, setKey] = useState<string | null>(null);
  const worker = useRef<Worker | null>(null);
  /** The join under way (also one that was under way before a reload, until it is rejoined or left). */
  const joinId = useRef<string | null>(null);
  const keyRef = useRef<string | null>(null);

  const stop = useCallback(() => {
    worker.current?.terminate();
    worker.current = null;
  }, []);

  /** The participation ended for good (left, finished, refused, failed): a reload does not rejoin. */
  const ended = useCallback(() => {
    const id = joinId.current;
    joinId.current = null;
    if (id && keyRef.current) markLeft(keyRef.current, id).catch(() => undefined);
  }, []);

  // Unmounting (a reload, a closed tab) stops the worker but is not leaving: the join stays recorded.
  useEffect(() => stop, [stop]);

  useEffect(() => {
    if (!token || !study) return;
    let live = true;
    // Another enrolment's history is not this one's (a participation under way stays on screen).
    keyRef.current = null;
    setKey(null);
    setState((s) => (isRunning(s.phase) ? s : initialFederationState));
    setReceipts([]);
    setPrivacy(null);
    void (async () => {
      const k = await historyKey(token, study);
      const stored = await loadHistory(k);
      const sent = await loadReceipts(k);
      if (!live) return;
      keyRef.current = k;
      setReceipts((now) => [...sent, ...now]);
      setState((s) => {
        const finished = s.finished ?? stored?.finished ?? null;
        return {
          ...s,
          history: mergeRounds(stored?.rounds ?? [], s.history),
          sent: mergeRounds(stored?.sent ?? [], s.sent),
          finished,
          phase: s.phase === 'idle' && finished ? 'done' : s.phase,
        };
      });
      if (joinId.current) await markJoined(k, joinId.current); // joined before the history was read
      else if (stored?.joinedAs && !stored.finished) {
        joinId.current = stored.joinedAs;
        setState((s) => ({ ...s, phase: 'rejoining' }));
        setRejoinPending(true);
      }
      setKey(k);
    })().catch((e: Error) => live && setState((s) => ({ ...s, messages: [...s.messages, `This hospital's history could not be read: ${e.message}`] })));
    return () => {
      live = false;
    };
  }, [token, study]);

  // Everything worth keeping is saved as soon as it changes.
  const { history, sent, finished } = state;
  useEffect(() => {
    if (!key) return;
    saveHistory(key, { rounds: history, sent, finished }).catch((e: Error) =>
      setState((s) => ({ ...s, messages: [...s.messages, `This hospital's history could not be saved: ${e.message}`] })),
    );
  }, [key, history, sent, finished]);

  const join = useCallback(
    (token: string, study: StudyOffer, summary: DatasetSummary, options: { rejoin?: boolean } = {}) => {
      stop();
      setRejoinPending(false);
      joinId.current = newJoinId();
      if (keyRef.current) markJoined(keyRef.current, joinId.current).catch(() => undefined);
      setState((s) => ({
        ...initialFederationState,
        history: s.history,
        sent: s.sent,
        finished: s.finished,
        phase: options.rejoin ? 'rejoining' : 'starting',
        trainSlices: splitSizes(summary).train,
      }));
      const w = new Worker(new URL('../../../workers/federation.worker.ts', import.meta.url), { type: 'module' });
      worker.current = w;
      const fail = (message: string, final: boolean) => {
        if (worker.current === w) stop();
        ended();
        setState((s) => ({ ...s, phase: 'error', error: message, refused: final }));
      };
      w.onmessage = (event: MessageEvent<FederationReply>) => {
        const msg = event.data;
        switch (msg.type) {
          case 'probe':
            return setState((s) => ({ ...s, ladder: [...s.ladder, msg.step] }));
          case 'ladder':
            return setState((s) => ({ ...s, ladder: msg.outcome.results, backend: msg.outcome.chosen, wasmThreads: msg.wasmThreads }));
          case 'event':
            if (msg.event.type === 'connected' || msg.event.type === 'round-result') setPrivacy(msg.event.privacy);
            return setState((s) => reduce(s, msg.event));
          case 'sent': {
            setReceipts((r) => [...r, msg.message]);
            // Written as it happens: a receipt must survive a crash right after the send.
            const k = keyRef.current;
            if (k) appendReceipts(k, [msg.message]).catch((e: Error) => setState((s) => ({ ...s, messages: [...s.messages, `A receipt could not be saved: ${e.message}`] })));
            return;
          }
          case 'end':
            stop();
            ended();
            return setState((s) => (s.phase === 'done' ? s : { ...s, phase: 'idle' }));
          case 'error':
            return fail(msg.message, msg.final);
        }
      };
      w.onerror = (e) => {
        e.preventDefault();
        fail(`the training stopped in this browser (its background task failed: ${e.message || 'it could not start'}${e.filename ? `, ${e.filename.split('/').pop()}:${e.lineno}` : ''})`, false);
      };
      w.onmessageerror = () => fail('the training stopped in this browser: its background task sent a message that could not be read', false);
      w.postMessage({
        type: 'start',
        token,
        study: study.id,
        planDigest: study.planDigest,
        config: study.config,
        summary,
        // `?backend=wasm` (or `?backend=wasm,cpu`) limits the worker's backend ladder to those backends.
        backends: new URLSearchParams(location.search).get('backend'),
      } satisfies FederationRequest);
    },
    [stop, ended],
  );

  /** A pending rejoin that cannot happen now; the join stays recorded, so the next load tries again. */
  const cancelRejoin = useCallback((why: string) => {
    setRejoinPending(false);
    joinId.current = null;
    setState((s) => ({ ...s, phase: s.phase === 'rejoining' ? 'idle' : s.phase, messages: [...s.messages, `Not rejoined after the reload: ${why}`] }));
  }, []);

  const leave = useCallback(() => {
    stop();
    ended();
    setRejoinPending(false);
    setState((s) => (isRunning(s.phase) ? { ...s, phase: 'idle', epoch: null, upload: null } : s));
  }, [stop, ended]);

  return { ...state, receipts, privacy, rejoinPending, join, cancelRejoin, leave };
}
