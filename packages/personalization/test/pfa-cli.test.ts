import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPfaCli } from '../bin/pfa-cli';
import { pfaTransformTensor } from '../src/index';
import { CONV_FIXTURE_CLIENT0, convFixtureInput, LINEAR_FIXTURE_OUTPUT, linearFixtureInput } from './fixtures';

const fixtureInput = (divisor?: number | string) => ({
  lRate: 0.7,
  round: 0,
  rounds: 50,
  ...(divisor === undefined ? {} : { divisor }),
  tensors: [
    { kind: 'linear', shape: [3, 4], clients: [0, 1, 2, 3].map((k) => Array.from(linearFixtureInput(k))) },
    { kind: 'conv', shape: [2, 2, 3, 3], clients: [0, 1, 2, 3].map((k) => Array.from(convFixtureInput(k))) },
  ],
});

const withTensor = (tensor: unknown) => JSON.stringify({ ...fixtureInput(), tensors: [tensor] });

interface Output {
  tensors: { kind: string; shape: number[]; clients: number[][] }[];
}

function checkFixtures(output: Output): void {
  const [linear, conv] = output.tensors;
  for (const [k, expected] of Object.entries(LINEAR_FIXTURE_OUTPUT)) {
    linear!.clients[Number(k)]!.forEach((v, i) => expect(Math.abs(v - expected.flat()[i]!)).toBeLessThan(1e-5));
  }
  for (const { n, c, kernel } of CONV_FIXTURE_CLIENT0) {
    kernel.flat().forEach((v, i) => {
      const got = conv!.clients[0]![((n * 2 + c) * 3 + Math.floor(i / 3)) * 3 + (i % 3)]!;
      expect(Math.abs(got - v)).toBeLessThan(1e-5);
    });
  }
}

describe('pfa command', () => {
  it.each([undefined, 'K', 'seed', 4])('reproduces the spec fixtures with divisor %s (K = 4)', (divisor) => {
    const { exitCode, output } = runPfaCli(JSON.stringify(fixtureInput(divisor)));
    expect(exitCode).toBe(0);
    expect(output).toMatchObject({ lRate: 0.7, round: 0, rounds: 50 });
    checkFixtures(output as Output);
  });

  it('prints each float32 result exactly, in the fewest digits that read back to it', () => {
    const input = fixtureInput();
    const { output } = runPfaCli(JSON.stringify(input));
    const linear = input.tensors[0]!;
    const exact = pfaTransformTensor('torch-linear', linear.shape, linear.clients, 0.7, 4)[1]!;
    (output as Output).tensors[0]!.clients[1]!.forEach((v, i) => {
      expect(Math.fround(v)).toBe(exact[i]);
      const digits = v.toExponential().replace(/^-/, '').replace(/e.*$/, '').replace('.', '').length;
      if (digits > 1) expect(Math.fround(Number(v.toPrecision(digits - 1)))).not.toBe(exact[i]);
    });
  });

  it.each([
    ['not JSON', '{"lRate":', /not valid JSON/, ''],
    ['missing field', JSON.stringify({ ...fixtureInput(), rounds: undefined }), /invalid input/, 'rounds'],
    ['bad rank', withTensor({ kind: 'conv', shape: [3, 4], clients: [[1]] }), /invalid input/, 'tensors.0.shape'],
    [
      'wrong value count',
      withTensor({ kind: 'linear', shape: [2, 2], clients: [[1, 2, 3]] }),
      /invalid input/,
      'tensors.0.clients.0',
    ],
    ['round past the schedule', JSON.stringify({ ...fixtureInput(), round: 51 }), /invalid input/, 'round'],
    ['bad divisor', JSON.stringify(fixtureInput('five')), /invalid input/, 'divisor'],
  ])('answers %s with an error object', (_what, text, message, path) => {
    const { exitCode, output } = runPfaCli(text);
    expect(exitCode).toBe(1);
    const error = (output as { error: { message: string; issues?: { path: string }[] } }).error;
    expect(error.message).toMatch(message);
    if (path) expect(error.issues?.map((i) => i.path)).toContain(path);
  });

  it('reads stdin and writes stdout when run as a script', () => {
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const script = fileURLToPath(new URL('../bin/pfa.ts', import.meta.url));
    const ok = spawnSync(tsx, [script], { input: JSON.stringify(fixtureInput()), encoding: 'utf8' });
    expect(ok.status).toBe(0);
    checkFixtures(JSON.parse(ok.stdout) as Output);
  });
});
