import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { FederationSnapshot, HospitalView } from '@fedward/protocol';
import { ConnectionIndicator } from '../src/features/connection/ConnectionIndicator';
import { AuditTable } from '../src/routes/dashboard/components/AuditTable';
import { AuditVerificationBadge } from '../src/routes/dashboard/components/AuditVerificationBadge';
import { hospitalStateText } from '../src/routes/dashboard/components/hospital-state';
import { HospitalsTable } from '../src/routes/dashboard/components/HospitalsTable';
import { RoundControls } from '../src/routes/dashboard/components/RoundControls';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
const at = (h: number, m: number, s = 0) => new Date(2024, 0, 1, h, m, s).getTime();

const hospital = (over: Partial<HospitalView>): HospitalView => ({
  name: 'St Mary',
  connected: true,
  state: 'ready',
  lastSeen: null,
  backend: 'wasm',
  status: null,
  trainSamples: 10,
  testSamples: 2,
  ...over,
});

describe('ConnectionIndicator', () => {
  it('is a status saying Live, or since when it is not', () => {
    expect(renderToStaticMarkup(<ConnectionIndicator state={{ kind: 'live', since: 0 }} />)).toMatch(/role="status".*Live/);
    expect(text(renderToStaticMarkup(<ConnectionIndicator state={{ kind: 'reconnecting', since: at(9, 3, 7) }} />))).toBe('Reconnecting… since 09:03:07');
    expect(text(renderToStaticMarkup(<ConnectionIndicator state={{ kind: 'offline', since: at(23, 0, 1) }} />))).toBe('Offline since 23:00:01');
  });
});

describe('hospital states', () => {
  it('are plain words', () => {
    expect(hospitalStateText(hospital({ state: 'backing-off', until: at(14, 5) }))).toBe('backing off until 14:05');
    expect(hospitalStateText(hospital({ state: 'skipped' }))).toBe('skipped by admin');
    expect(hospitalStateText(hospital({ state: 'uploaded' }))).toBe('uploaded');
  });

  it('show the note and offer Skip or Let back in', () => {
    const html = renderToStaticMarkup(
      <HospitalsTable
        controlsEnabled
        onSkip={async () => {}}
        hospitals={[hospital({ state: 'training' }), hospital({ name: 'Riverside', state: 'backing-off', until: at(14, 5), note: 'missed the deadline of round 3' })]}
      />,
    );
    expect(html).toContain('aria-label="Skip St Mary"');
    expect(html).toContain('aria-label="Let back in Riverside"');
    expect(text(html)).toContain('backing off until 14:05 missed the deadline of round 3');
    expect(text(html)).toContain('never');
  });
});

describe('AuditVerificationBadge', () => {
  it('says the chain verified, or raises an alert naming the broken entry', () => {
    expect(text(renderToStaticMarkup(<AuditVerificationBadge verified={{ ok: true, entries: 12 }} />))).toBe('Chain verified: 12 entries');
    const broken = renderToStaticMarkup(<AuditVerificationBadge verified={{ ok: false, brokenAt: 7 }} />);
    expect(broken).toContain('role="alert"');
    expect(text(broken)).toContain('TAMPERED at entry #7');
  });

  it('lists entries newest first and marks the broken one', () => {
    const html = renderToStaticMarkup(
      <AuditTable
        brokenAt={2}
        entries={[
          { id: 1, at: at(8, 0), actor: 'admin (127.0.0.1)', action: 'login', detail: 'signed in', hash: 'a' },
          { id: 2, at: at(8, 1), actor: 'admin (127.0.0.1)', action: 'token-created', detail: 'for St Mary', hash: 'b' },
        ]}
      />,
    );
    expect(html.indexOf('token-created')).toBeLessThan(html.indexOf('signed in'));
    expect(html).toMatch(/<tr[^>]*class="tampered"[^>]*>\s*<td>2<\/td>/);
  });
});

describe('RoundControls', () => {
  const snapshot = (phase: FederationSnapshot['phase']) =>
    ({
      phase,
      round: 3,
      config: { minClients: 2, minUpdates: 2 },
      hospitals: [hospital({ state: 'uploaded' }), hospital({ name: 'B', state: 'training' })],
    }) as unknown as FederationSnapshot;
  const props = { controlsEnabled: true, onEndRound: async () => 'aggregated' as const, onSetDeadline: async () => 0 };

  it('offers End round now and a labelled deadline input while training', () => {
    const html = renderToStaticMarkup(<RoundControls snapshot={snapshot('training')} {...props} />);
    expect(text(html)).toContain('End round now');
    expect(html).toMatch(/<label for="([^"]+)-minutes">New deadline, in minutes from now<\/label><input id="\1-minutes"/);
    expect(text(html)).toContain('Set deadline');
  });

  it('is not shown outside training', () => {
    expect(renderToStaticMarkup(<RoundControls snapshot={snapshot('waiting')} {...props} />)).toBe('');
  });
});
