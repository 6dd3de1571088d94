import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { initialFederationState, type FederationState } from '../src/routes/join/hooks/federation-state';
import { TrainingCard } from '../src/routes/join/components/TrainingCard';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
const render = (state: Partial<FederationState>, blockers: string[] = []) =>
  renderToStaticMarkup(<TrainingCard state={{ ...initialFederationState, ...state }} canJoin={blockers.length === 0} blockers={blockers} onJoin={() => undefined} onLeave={() => undefined} />);

describe('the training card', () => {
  it('a final refusal is said plainly, not as "reconnecting"', () => {
    const html = render({ phase: 'error', refused: true, error: 'replaced by a newer connection of the same hospital' });
    expect(text(html)).toContain('Stopped by the server');
    expect(text(html)).toContain('The server ended this hospital’s participation: replaced by a newer connection of the same hospital.');
    expect(html).not.toContain('reconnecting');
  });

  it('shows "Rejoining…" after a reload, with the rounds kept from before it and what was sent', () => {
    const html = render({
      phase: 'rejoining',
      history: [{ round: 1, accuracy: 0.75, loss: 0.5, samples: 12 }],
      sent: [{ round: 1, updates: 2, slices: 48, bytes: 4096, trainLoss: 0.61 }],
    });
    expect(text(html)).toContain('Rejoining…');
    expect(html).toContain('data-testid="history-round-1"');
    expect(text(html)).toContain('75.0%');
    expect(html).toContain('data-testid="sent-round-1"');
    expect(text(html)).toContain('2 48 slices 4 KiB 0.610 accuracy 75.0%, loss 0.500 on 12 held-out slices');
    expect(html).toContain('>Leave</button>');
  });

  it('DP-SGD: a status line with the local ε per epoch; once the watchdog stopped, why (spent, projected, budget) and not "Federation finished"', () => {
    const dp = { epsilon: 3.2178, target: 6.5, unit: 'patient' as const, round: 1, epoch: 2, epochs: 2, stopped: false, projected: null };
    const training = text(render({ phase: 'training', dpSgd: dp }));
    expect(training).toContain('Local ε per patient: 3.218 of 6.5 (round 1, epoch 2 of 2)');
    const html = render({ phase: 'done', dpSgd: { ...dp, epsilon: 5.08, round: 3, epoch: null, epochs: null, stopped: true, projected: 6.74 } });
    expect(text(html)).toContain('Stopped: this hospital’s privacy budget is spent');
    expect(text(html)).not.toContain('Federation finished');
    expect(text(html)).toContain('The privacy watchdog stopped training here before round 3: that round would take ε per patient from 5.080 (spent so far) to 6.740, past this hospital’s budget of 6.5.');
  });

  it('after a reload, a study that ended for this hospital says why (the reason kept with the history)', () => {
    const reason = 'this hospital\u2019s own privacy budget: round 3 would take ε per patient to 6.74, past 6.5';
    const html = render({ phase: 'done', finished: { round: 2, reason } });
    expect(text(html)).toContain('Federation finished');
    expect(text(html)).toContain(`Ended after round 2: ${reason}`);
    expect(render({ phase: 'done', finished: { round: 2 } })).not.toContain('finished-reason');
  });

  it('says why joining is not possible yet', () => {
    const html = render({}, ['Only 3 slices are held out to measure the model: at least 4 are needed.']);
    expect(html).toMatch(/<button disabled="">Join round<\/button>/);
    expect(text(html)).toContain('Joining is not possible yet: Only 3 slices are held out');
  });
});
