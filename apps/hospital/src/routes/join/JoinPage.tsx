import { useCallback, useEffect, useState } from 'react';
import { checkToken, forgetToken, savedToken, saveToken } from '../../api/enrolment';
import { readinessProblems } from '../../api/local-data';
import type { Enrolment } from '../../types/federation';
import { DataCard } from './components/DataCard';
import { TokenCard } from './components/TokenCard';
import { TrainingCard } from './components/TrainingCard';
import { isRunning } from './hooks/federation-state';
import { useFederation } from './hooks/useFederation';
import { useLocalData } from './hooks/useLocalData';

export function JoinPage() {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [tokenError, setTokenError] = useState<string | null>(null);
  // The remembered token is known before the server has checked it: the history shows at once.
  const [token, setToken] = useState(savedToken);
  const data = useLocalData();
  const federation = useFederation(token || null);

  const check = useCallback(async (candidate: string) => {
    try {
      const e = await checkToken(candidate);
      saveToken(candidate);
      setToken(candidate);
      setEnrolment(e);
      setTokenError(null);
    } catch (err) {
      setTokenError(`This token was not accepted: ${(err as Error).message}`);
    }
  }, []);

  useEffect(() => {
    const remembered = savedToken();
    if (remembered) void check(remembered);
  }, [check]);

  const inputSize = enrolment?.config.model.inputSize ?? null;
  const stored = data.summary?.settings?.size;
  const sizeMismatch = stored !== undefined && inputSize !== null && stored !== inputSize;
  const blockers = ((): string[] => {
    if (!enrolment) return ['Check your enrolment token first (step 1).'];
    if (data.loading) return []; // known in a moment; the button stays disabled meanwhile
    if (data.progress) return ['An import is running: wait for it to finish.'];
    if (data.pending) return ['Answer the question about the folder you picked (step 2).'];
    if (!data.summary) return ['Import your slices first (step 2).'];
    if (sizeMismatch) return [`Your stored slices are ${stored}×${stored}; this federation's model needs ${inputSize}×${inputSize} (see step 2).`];
    return readinessProblems(data.summary, enrolment.config.model);
  })();
  const canJoin = Boolean(enrolment && data.summary && !data.loading && blockers.length === 0);

  // Taking part when the page went away (reload, closed tab): rejoin by itself once the token and
  // the local data are known, or say why not.
  const { rejoinPending, join, cancelRejoin } = federation;
  const why = blockers.join(' ');
  useEffect(() => {
    if (!rejoinPending) return;
    if (tokenError) return cancelRejoin(tokenError);
    if (!enrolment || data.loading) return;
    if (!canJoin || !data.summary) return cancelRejoin(why);
    join(enrolment, data.summary, { rejoin: true });
  }, [rejoinPending, tokenError, enrolment, data.loading, data.summary, canJoin, why, join, cancelRejoin]);

  return (
    <main>
      <header>
        <h1>Fedward</h1>
        <p className="muted">
          Federated learning in your browser: your slices never leave this computer. What is sent to the server: the model updates, and for each round the
          number of slices, the training loss, the accuracy on your held-out slices, the TF.js backend, and whether your slices carry patient ids.
        </p>
      </header>
      <TokenCard
        enrolment={enrolment}
        error={tokenError}
        onCheck={check}
        onForget={() => {
          forgetToken();
          setToken('');
          setEnrolment(null);
        }}
      />
      <DataCard
        summary={data.summary}
        samples={data.samples}
        progress={data.progress}
        report={data.report}
        pending={data.pending}
        error={
          data.error ??
          (sizeMismatch
            ? `Your stored slices are ${stored}×${stored} but this federation's model needs ${inputSize}×${inputSize}: import the folder again and choose "Replace", or remove local data.`
            : null)
        }
        inputSize={inputSize}
        locked={isRunning(federation.phase)}
        onPick={(files) => inputSize !== null && data.pick(files, inputSize)}
        onChoose={data.choose}
        onCancel={data.cancel}
        onRemove={data.remove}
      />
      <TrainingCard
        state={federation}
        canJoin={canJoin}
        blockers={blockers}
        onJoin={() => enrolment && data.summary && join(enrolment, data.summary)}
        onLeave={federation.leave}
      />
    </main>
  );
}
