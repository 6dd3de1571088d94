import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const outs: string[] = [];
afterAll(() => outs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** npm run audit:leakage as a child process, at a size and budget that take a few seconds. */
function audit(args: string[], size = 12): { last: Record<string, unknown>; out: string } {
  const out = mkdtempSync(join(tmpdir(), 'leakage-audit-'));
  outs.push(out);
  const stdout = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'bin/audit-leakage.ts', '--backend', 'cpu', '--input-size', String(size), '--images', '1', '--local-steps', '2', '--iterations', '4', '--restarts', '1', '--out', out, '--json', ...args],
    { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines = stdout.trim().split('\n');
  return { last: JSON.parse(lines.at(-1)!) as Record<string, unknown>, out };
}

describe('npm run audit:leakage', () => {
  for (const defence of ['none', 'dp', 'secagg', 'dp-sgd', 'precode']) {
    it(`--defence ${defence} --json prints the summary as its last line and saves PNG + JSON`, () => {
      const { last, out } = audit(['--defence', defence, '--restarts', '2']);
      expect(Object.keys(last).slice(0, 5)).toEqual(['defence', 'images', 'psnr_db', 'ssim', 'restarts']);
      expect(last).toMatchObject({ defence, images: 1, restarts: 2 });
      expect((last.psnr_db as number[]).every(Number.isFinite)).toBe(true);
      expect(last.ssim as number[]).toHaveLength(1);
      if (defence === 'dp' || defence === 'dp-sgd') expect(last.epsilon as number).toBeGreaterThan(0);
      if (defence === 'secagg') expect(last.hospitals).toBe(3);
      if (defence === 'precode') {
        // The hospital trains small-cnn-vb with PRECODE's defaults; the attacker's ε = 0 copy misses its Δ even at the true images.
        expect(last).toMatchObject({ model: 'small-cnn-vb', vb_beta: 1e-3, vb_k: 16, attacker_noise: 'mean' });
        expect(last.mismatch_at_truth as number).toBeGreaterThan(1e-3);
        expect(last).not.toHaveProperty('epsilon');
      }
      for (const f of ['original-0.png', 'reconstruction-0.png', 'result.json']) expect(existsSync(join(out, f))).toBe(true);
      const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Record<string, unknown>;
      expect(saved.psnr_db).toEqual(last.psnr_db);
    });
  }

  it('--diagnose adds the influenced-pixel figures (labelled a diagnostic) and the warm-start probe; 8×8 takes a 7-tap SSIM', () => {
    const { last, out } = audit(['--diagnose'], 8);
    const d = last.diagnose as Record<string, unknown>;
    expect(d.note).toMatch(/DIAGNOSTIC/);
    expect((d.influenced_fraction as number[])[0]).toBeGreaterThan(0);
    expect(d.parameters).toBe(1282);
    expect(d.pixels).toBe(64);
    expect((d.warm_start as { psnr_start_db: number[] }).psnr_start_db[0]).toBeGreaterThan(25);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))).toMatchObject({ input_size: 8, ssim_window: 7 });
  });

  it('--model small-cnn-vb is precode, with --vb-beta, --vb-k and the attacker drawing its own ε', () => {
    const { out, last } = audit(['--model', 'small-cnn-vb', '--vb-beta', '0.1', '--vb-k', '8', '--vb-attacker', 'draws']);
    expect(last).toMatchObject({ defence: 'precode', model: 'small-cnn-vb', vb_beta: 0.1, vb_k: 8, attacker_noise: 'draws' });
    expect((last.psnr_db as number[]).every(Number.isFinite)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))).toMatchObject({ defence_report: { beta: 0.1, k: 8, attacker_noise: 'draws' } });
  });

  for (const defence of ['dp', 'secagg', 'dp-sgd']) {
    it(`--model small-cnn-vb --defence ${defence}: PRECODE under that release`, () => {
      const { last } = audit(['--model', 'small-cnn-vb', '--defence', defence]);
      expect(last).toMatchObject({ defence, model: 'small-cnn-vb', vb_beta: 1e-3, vb_k: 16, attacker_noise: 'mean' });
      expect((last.psnr_db as number[]).every(Number.isFinite)).toBe(true);
      if (defence !== 'secagg') expect(last.epsilon as number).toBeGreaterThan(0);
    });
  }

  it('refuses the VB flags without small-cnn-vb and precode on small-cnn, with a usage line', () => {
    expect(() => audit(['--vb-k', '8'])).toThrow(/--vb-k: for --defence precode/);
    expect(() => audit(['--defence', 'precode', '--model', 'small-cnn'])).toThrow(/precode trains small-cnn-vb/);
  });

  it('--homotopy smooths the small CNN for part of the run and says so in the summary; refused for small-cnn-vb', () => {
    const { last } = audit(['--homotopy', '0.5', '--homotopy-until', '0.5']);
    expect(last).toMatchObject({ defence: 'none', homotopy: { temperature: 0.5, until: 0.5 } });
    expect((last.psnr_db as number[]).every(Number.isFinite)).toBe(true);
    expect(() => audit(['--homotopy', '0.5', '--defence', 'precode'])).toThrow(/--homotopy: for the small CNN only/);
    expect(() => audit(['--homotopy-until', '0.5'])).toThrow(/--homotopy-until: with --homotopy only/);
  });
});
