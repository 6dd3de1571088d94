import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedward/protocol';
import { AuditForm } from '../src/routes/audit/components/AuditForm';
import { AuditResults } from '../src/routes/audit/components/AuditResults';
import type { AuditSettings, DefenceResult } from '../src/types/leakage-audit';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
const spec: ModelSpec = { kind: 'small-cnn', inputSize: 2, channels: 1, numClasses: 2, seed: 1, normalization: 'zscore' };
const settings: AuditSettings = {
  images: 1,
  localSteps: 1,
  restarts: 1,
  iterations: 20,
  learningRate: 0.01,
  defences: ['none', 'dp'],
  dp: { noiseMultiplier: 1, clip: 1, delta: 1e-5 },
  dpSgd: { noiseMultiplier: 1, clip: 1, delta: 1e-5 },
  hospitals: 3,
};
const result = (defence: DefenceResult['defence'], epsilon: number | null): DefenceResult => ({
  defence,
  size: 2,
  labels: [1],
  originals: new Float32Array(4),
  reconstructions: new Float32Array(4),
  psnr: [11.234],
  ssim: [0.5],
  epsilon,
  note: 'what the attacker saw',
  model: 'small-cnn',
  vb: null,
});

describe('the Audit view', () => {
  it('shows a row per defence with PSNR, SSIM, ε where the defence has one, and downloads', () => {
    const html = renderToStaticMarkup(<AuditResults results={[result('none', null), result('dp', 2.345)]} run={{ spec, settings }} />);
    expect(html.match(/data-testid="leakage-result"/g)).toHaveLength(2);
    expect(text(html)).toContain('Slice 1: PSNR 11.23 dB, SSIM 0.500');
    expect(text(html)).toContain('ε per patient: 2.35');
    expect(html.match(/data-testid="leakage-epsilon"/g)).toHaveLength(1);
    expect(text(html)).toContain('Download Results (JSON)');
    expect(text(html)).toContain('Download Reconstruction 1 (PNG)');
  });

  it('offers the defences it is given, each a labelled checkbox, and Run without Cancel when idle', () => {
    const html = renderToStaticMarkup(<AuditForm initial={settings} implemented={['none', 'dp', 'secagg']} running={false} onRun={() => undefined} onCancel={() => undefined} />);
    expect(html.match(/type="checkbox"/g)).toHaveLength(3);
    expect(text(html)).toContain('Secure aggregation');
    expect(html).toMatch(/<button type="submit">Run attack<\/button>/);
    expect(html).toMatch(/<button type="button" class="secondary" disabled="">Cancel<\/button>/);
  });
});
