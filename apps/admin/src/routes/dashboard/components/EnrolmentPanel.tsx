import { useEffect, useState } from 'react';

/**
 * Which hospitals take part in this study. Hospitals that already hold a token (from any study)
 * are enrolled with a tick; a new hospital gets its token below ("Enrolment tokens").
 */
export function EnrolmentPanel({
  hospitals,
  enrolled,
  controlsEnabled,
  onEnrol,
}: {
  hospitals: string[];
  enrolled: string[];
  controlsEnabled: boolean;
  onEnrol: (hospital: string, enrolled: boolean) => Promise<void>;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  // What the admin asked for, shown until the server's snapshot says it is so (or it failed).
  const [wanted, setWanted] = useState<Record<string, boolean>>({});
  useEffect(() => {
    setWanted((w) => Object.fromEntries(Object.entries(w).filter(([h, on]) => enrolled.includes(h) !== on)));
  }, [enrolled]);
  if (hospitals.length === 0) return <p className="muted">No hospital has a token yet: create one below.</p>;
  return (
    <fieldset className="enrolment">
      <legend>Hospitals in this study</legend>
      {hospitals.map((h) => (
        <label key={h} className="row">
          <input
            type="checkbox"
            checked={wanted[h] ?? enrolled.includes(h)}
            disabled={!controlsEnabled || busy !== null}
            onChange={async (e) => {
              const on = e.target.checked;
              setBusy(h);
              setError(null);
              setWanted((w) => ({ ...w, [h]: on }));
              try {
                await onEnrol(h, on);
              } catch (err) {
                setWanted(({ [h]: _dropped, ...rest }) => rest);
                setError((err as Error).message);
              } finally {
                setBusy(null);
              }
            }}
          />
          {h}
        </label>
      ))}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}
