import { useState } from 'react';
import { ModelCard } from './components/ModelCard';
import { PredictionCard } from './components/PredictionCard';
import { SlicePicker } from './components/SlicePicker';
import { useImportedSlices } from './hooks/useImportedSlices';
import { useLatestModel } from './hooks/useLatestModel';
import { usePrediction } from './hooks/usePrediction';

/**
 * "Try the model" (issue 14): a clinician picks a slice and sees what the model this hospital
 * received says about it. The slice is prepared exactly as for training and predicted in a
 * worker; nothing is sent anywhere.
 */
export function TryPage() {
  const latest = useLatestModel();
  const imported = useImportedSlices();
  const { state, predict } = usePrediction(latest.model);
  /** The imported slice tried last (its button shows pressed); null after a file. */
  const [chosen, setChosen] = useState<number | null>(null);
  const model = latest.model;
  return (
    <main>
      <header>
        <h1>Try the model</h1>
        <p className="muted">
          Pick a slice and see what the model your hospital received says about it. Everything runs in this browser: the slice and the answer are never sent
          anywhere.
        </p>
      </header>
      <ModelCard state={latest} />
      {model && (
        <>
          <SlicePicker
            imported={imported}
            inputSize={model.spec.inputSize}
            chosen={chosen}
            onFile={(file) => {
              setChosen(null);
              predict(file.name, { kind: 'file', file });
            }}
            onImported={(slice, i) => {
              setChosen(i);
              predict(`imported slice ${i + 1} (labelled ${slice.label})`, { kind: 'stored', pixels: slice.pixels });
            }}
          />
          <PredictionCard state={state} model={model} />
        </>
      )}
    </main>
  );
}
