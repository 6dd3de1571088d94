import { describe, expect, it } from 'vitest';
import { FLAGS } from '../../../server/src/cli-flags';
import { parseOptions } from '../src/options';
import { repoRoot, runFederate } from './run-federate';

describe('federate options', () => {
  it('passes study options to the server unchanged and defaults --min-clients to nothing (the tool sets it)', () => {
    const parsed = parseOptions(['--node', '--hospitals', '4', '--dp-noise', '0.8', '--rounds', '3', '--learning-rate', '1e-3'], repoRoot);
    expect(parsed.help).toBe(false);
    if (parsed.help) return;
    expect(parsed.options.mode).toBe('node');
    expect(parsed.options.backend).toBe('wasm');
    // In the server's table order, values as typed.
    expect(parsed.options.studyArgs).toEqual(['--rounds', '3', '--learning-rate', '1e-3', '--dp-noise', '0.8']);
    expect(parsed.options.study).toMatchObject({ rounds: 3, privacy: { noiseMultiplier: 0.8 } });
  });

  it('--model-norm group picks the GroupNorm variant (the one DP-SGD accepts)', () => {
    const parsed = parseOptions(['--node', '--model', 'vgg-slim', '--model-norm', 'group', '--dp-sgd-noise', '1'], repoRoot);
    if (parsed.help) throw new Error('expected options');
    expect(parsed.options.studyArgs).toEqual(['--model', 'vgg-slim', '--model-norm', 'group', '--dp-sgd-noise', '1']);
    expect(parsed.options.study).toMatchObject({ model: { kind: 'vgg-slim', norm: 'group' }, dpSgd: { noiseMultiplier: 1 } });
  });

  it('refuses bad values and options that cannot work together, naming the option', () => {
    expect(() => parseOptions(['--browser', '--node'], repoRoot)).toThrow('--browser and --node exclude each other');
    expect(() => parseOptions(['--data', '/x', '--seed', '2'], repoRoot)).toThrow('--seed is for generated data');
    expect(() => parseOptions(['--hospitals', '2', '--min-clients', '3'], repoRoot)).toThrow('--min-clients 3 is more than --hospitals 2');
    expect(() => parseOptions(['--port', '80'], repoRoot)).toThrow('unknown option --port');
    expect(() => parseOptions(['--node', '--backend', 'webgl'], repoRoot)).toThrow('--backend webgl exists only in a browser: with --node use wasm or cpu');
    expect(() => parseOptions(['--backend', 'metal'], repoRoot)).toThrow("--backend expects one of webgpu, webgl, wasm, cpu, got 'metal'");
    expect(() => parseOptions(['--hospitals', '0'], repoRoot)).toThrow("--hospitals expects a positive integer, got '0'");
    expect(() => parseOptions(['--dp-clip', '2'], repoRoot)).toThrow('--dp-clip needs --dp-noise');
    expect(() => parseOptions(['--rounds'], repoRoot)).toThrow(/--rounds/);
  });

  it('--help lists every option, the server’s study options included, with defaults', async () => {
    const run = await runFederate(['--help']);
    expect(run.code).toBe(0);
    for (const name of ['browser', 'node', 'hospitals', 'backend', 'data', 'headed', 'out', 'timeout-min']) expect(run.stdout).toContain(`--${name}`);
    for (const [name, flag] of Object.entries(FLAGS)) if (flag.setting) expect(run.stdout).toContain(`--${name} <${flag.arg}>`);
    expect(run.stdout).toMatch(/--rounds <n> +rounds to run \(default 5\)/);
    expect(run.stdout).toMatch(/--hospitals <n> .*\(default 3/);
  });
});
