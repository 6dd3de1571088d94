import { useCallback, useEffect, useState } from 'react';
import { patientIdStatus } from '@fedward/data';
import { checkToken, forgetToken, savedStudy, savedToken, saveStudy, saveToken } from '../../api/enrolment';
import { acceptance, acceptPlan, type Acceptance } from '../../api/plan-acceptance';
import { readinessProblems } from '../../api/local-data';
import type { Enrolment } from '../../types/federation';
import { DataCard } from './components/DataCard';
import { PrivacySpent } from './components/PrivacySpent';
import { ReceiptsCard } from './components/ReceiptsCard';
import { StudyCard } from './components/StudyCard';
import { TakeHomeCard } from './components/TakeHomeCard';
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
  const [studyId, setStudyId] = useState(savedStudy);
  const studies = enrolment?.studies ?? [];
  // The study chosen here before, or the only one there is.
  const study = studies.find((s) => s.id === studyId) ?? (studies.length === 1 ? studies[0]! : null);
  const [accepted, setAccepted] = useState<Acceptance | null>(null);
  useEffect(() => setAccepted(study ? acceptance(study.id) : null), [study]);
  const planAccepted = study !== null && accepted?.digest === study.planDigest;
  const data = useLocalData();
  const federation = useFederation(token || null, study?.id ?? (studyId || null));

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

  const inputSize = study?.config.model.inputSize ?? null;
  const stored = data.summary?.settings?.size;
  const sizeMismatch = stored !== undefined && inputSize !== null && stored !== inputSize;
  const blockers = ((): string[] => {
    if (!enrolment) return ['Check your enrolment token first (step 1).'];
    if (!study) return ['Choose a study (step 2).'];
    if (!planAccepted) return ["Review the study's plan and accept it (step 2)."];
    if (data.loading) return []; // known in a moment; the button stays disabled meanwhile
    if (data.progress) return ['An import is running: wait for it to finish.'];
    if (data.pending) return ['Answer the question about the folder you picked (step 3).'];
    if (!data.summary) return ['Import your slices first (step 3).'];
    if (sizeMismatch) return [`Your stored slices are ${stored}×${stored} pixels; this study's model needs ${inputSize}×${inputSize} pixels (see step 3).`];
    return readinessProblems(data.summary, study.config.model);
  })();
  const canJoin = Boolean(enrolment && study && planAccepted && data.summary && !data.loading && blockers.length === 0);

  // Taking part when the page went away (reload, closed tab): rejoin by itself once the token and
  // the local data are known, or say why not.
  const { rejoinPending, join, cancelRejoin } = federation;
  const why = blockers.join(' ');
  useEffect(() => {
    if (!rejoinPending) return;
    if (tokenError) return cancelRejoin(tokenError);
    if (!enrolment || data.loading) return;
    if (!canJoin || !data.summary || !study) return cancelRejoin(why);
    join(enrolment.token, study, data.summary, { rejoin: true });
  }, [rejoinPending, tokenError, enrolment, study, data.loading, data.summary, canJoin, why, join, cancelRejoin]);

  return (
    <main>
      <header>
        <h1>Fedward</h1>
        <p className="muted">
          Federated learning in your browser: hospitals train a shared model together, and your slices never leave this computer. What is sent to the
          server: the model updates (numbers that describe how the model changed), and for each round the number of slices, the training loss (how far the
          model’s answers were from the labels; lower is better), the accuracy and loss on your held-out slices (slices set aside to test the model, never
          trained on), progress while training, the TF.js backend (the engine that runs the training on this computer), and whether your slices carry
          patient ids. Step 2 lists every message and field before you join. Step 5 shows every one that was sent.
        </p>
      </header>
      <TokenCard
        enrolment={enrolment}
        error={tokenError}
        onCheck={check}
        onForget={() => {
          if (!window.confirm('Forget the enrolment token saved in this browser? To take part again, you will need to paste a token again.')) return;
          forgetToken();
          setToken('');
          setStudyId('');
          setEnrolment(null);
        }}
      />
      {enrolment && (
        <StudyCard
          studies={studies}
          chosen={study}
          accepted={accepted}
          onChoose={(id) => {
            saveStudy(id);
            setStudyId(id);
          }}
          onAccept={(s) => setAccepted(acceptPlan(s.id, s.planDigest))}
        />
      )}
      <DataCard
        summary={data.summary}
        samples={data.samples}
        progress={data.progress}
        report={data.report}
        pending={data.pending}
        error={
          data.error ??
          (sizeMismatch
            ? `Your stored slices are ${stored}×${stored} pixels, but this study's model needs ${inputSize}×${inputSize} pixels. Import the folder again and choose "Replace", or remove local data.`
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
        allPatientIds={data.summary ? patientIdStatus(data.summary).patientIds === 'all' : true}
        canJoin={canJoin}
        blockers={blockers}
        onJoin={() => enrolment && study && data.summary && join(enrolment.token, study, data.summary)}
        onLeave={federation.leave}
      />
      {study && <PrivacySpent privacy={federation.privacy ?? study.privacy} history={federation.history} classes={study.config.model.numClasses} />}
      <ReceiptsCard receipts={federation.receipts} />
      {enrolment && study && (
        <TakeHomeCard
          token={enrolment.token}
          studyId={study.id}
          studyName={study.name}
          modelKind={study.config.model.kind}
          rounds={Math.max(study.round, ...federation.history.map((h) => h.round))}
        />
      )}
    </main>
  );
}
