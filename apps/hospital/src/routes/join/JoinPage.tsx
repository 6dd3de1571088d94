import { useCallback, useEffect, useState } from 'react';
import { checkToken, forgetToken, savedToken, saveToken } from '../../api/enrolment';
import type { Enrolment } from '../../types/federation';
import { DataCard } from './components/DataCard';
import { TokenCard } from './components/TokenCard';
import { TrainingCard } from './components/TrainingCard';
import { useFederation } from './hooks/useFederation';
import { useLocalData } from './hooks/useLocalData';

export function JoinPage() {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [tokenError, setTokenError] = useState<string | null>(null);
  const data = useLocalData();
  const federation = useFederation();

  const check = useCallback(async (token: string) => {
    try {
      const e = await checkToken(token);
      saveToken(token);
      setEnrolment(e);
      setTokenError(null);
    } catch (err) {
      setTokenError(`This token was not accepted: ${(err as Error).message}`);
    }
  }, []);

  useEffect(() => {
    const token = savedToken();
    if (token) void check(token);
  }, [check]);

  const inputSize = enrolment?.config.model.inputSize ?? null;
  const sizeMismatch = data.summary?.settings && inputSize !== null && data.summary.settings.size !== inputSize;
  const running = !['idle', 'done', 'error'].includes(federation.phase);

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
          setEnrolment(null);
        }}
      />
      <DataCard
        summary={data.summary}
        progress={data.progress}
        problems={data.problems}
        error={
          data.error ??
          (sizeMismatch
            ? `Your stored slices are ${data.summary!.settings!.size}×${data.summary!.settings!.size} but this federation's model needs ${inputSize}×${inputSize}: remove local data and import the folder again.`
            : null)
        }
        inputSize={inputSize}
        locked={running}
        onPick={(files) => inputSize !== null && data.importFolder(files, inputSize)}
        onCancel={data.cancel}
        onRemove={data.remove}
      />
      <TrainingCard
        state={federation}
        canJoin={Boolean(enrolment && data.summary && !sizeMismatch && !data.progress)}
        onJoin={() => enrolment && data.summary && federation.join(enrolment, data.summary)}
        onLeave={federation.leave}
      />
    </main>
  );
}
