import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * PyTorch as the benchmark's peer: which interpreters to use, and long-lived processes of
 * bench/torch_train.py --serve (one per model, thread count and setting), so that a compiled
 * model is compiled once and every interleaved round only times steps. PyTorch is never a
 * dependency: where no interpreter has torch, the bench prints why and runs without it.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, 'torch_train.py');
const repoRoot = path.resolve(here, '..', '..', '..');

/** The repo's git-ignored venv with PyTorch 2.x (`python3 -m venv .venv-torch && .venv-torch/bin/pip install torch`). */
export const defaultVenvPython = path.join(repoRoot, '.venv-torch', 'bin', 'python');

/** `--python PATH`, else $FEDWARD_TORCH_PYTHON, else the venv if present, else python3. */
export function tunedPython(option: string | undefined): string {
  return option ?? process.env['FEDWARD_TORCH_PYTHON'] ?? (existsSync(defaultVenvPython) ? defaultVenvPython : 'python3');
}

/** glibc keeps freed buffers instead of returning them to the kernel every step. */
export const TUNED_ENV = { MALLOC_MMAP_THRESHOLD_: '1000000000000', MALLOC_TRIM_THRESHOLD_: '1000000000000' };

export interface TorchProbe {
  python: string;
  version?: string;
  /** torch/__init__.py of that interpreter: two interpreters with the same file are the same build. */
  file?: string;
  error?: string;
}

export function probeTorch(python: string): TorchProbe {
  const out = spawnSync(python, ['-c', 'import torch; print(torch.__version__); print(torch.__file__)'], {
    encoding: 'utf8', timeout: 60_000,
  });
  if (out.error !== undefined) return { python, error: out.error.message };
  if (out.status !== 0) return { python, error: out.stderr.trim().split('\n').at(-1) ?? `exit ${out.status}` };
  const [version, file] = out.stdout.trim().split('\n').slice(-2);
  return { python, version, file };
}

export interface TorchSetting {
  python: string;
  model: string;
  threads: number;
  batch: number;
  /** The tuned settings: allocator variables, channels-last. */
  tuned: boolean;
  compile: 'off' | 'on';
}

/** What a worker reported when ready: torch version, Adam variant, whether torch.compile runs (and why not). */
export interface TorchWorkerInfo {
  torch: string;
  adam: string;
  compiled: boolean;
  compile_seconds?: number;
  compile_note?: string;
}

export interface TorchRun {
  samples_per_s: number;
  steps: number;
  seconds: number;
}

/** One warm torch_train.py --serve process. */
export class TorchWorker {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly info: TorchWorkerInfo,
    private readonly stderr: () => string,
  ) {}

  static async start(s: TorchSetting, readyTimeoutMs = 900_000): Promise<TorchWorker> {
    const args = [script, '--serve', '--model', s.model, '--threads', String(s.threads), '--batch', String(s.batch),
      '--compile', s.compile, ...(s.tuned ? ['--channels-last'] : [])];
    const env: NodeJS.ProcessEnv = { ...process.env, ...(s.tuned ? TUNED_ENV : {}) };
    if (!s.tuned) {
      delete env['MALLOC_MMAP_THRESHOLD_'];
      delete env['MALLOC_TRIM_THRESHOLD_'];
    }
    const child = spawn(s.python, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const stderr = () => err.trim().split('\n').at(-1) ?? '';
    const first = await withTimeout(lines.next(), readyTimeoutMs, 'no ready line').catch((e: Error) => {
      child.kill();
      throw e;
    });
    if (first.done === true) throw new Error(`exited: ${stderr()}`);
    return new TorchWorker(child, lines, JSON.parse(first.value) as TorchWorkerInfo, stderr);
  }

  /** Warms up 2 steps, then times steps for `seconds` (at least 3, at most `maxSteps`). */
  async run(maxSteps: number, seconds: number): Promise<TorchRun> {
    this.child.stdin.write(`run ${maxSteps} ${seconds}\n`);
    const line = await withTimeout(this.lines.next(), (seconds + 120) * 1000, 'no result');
    if (line.done === true) throw new Error(`exited: ${this.stderr()}`);
    return JSON.parse(line.value) as TorchRun;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
