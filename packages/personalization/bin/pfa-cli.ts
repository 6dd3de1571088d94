/**
 * The `npm run -s pfa` command, minus the stdin/stdout plumbing (kept in pfa.ts) so tests can call it.
 *
 * Input:  {"lRate","round","rounds","divisor"?,"tensors":[{"kind":"conv"|"linear","shape":[…PyTorch layout],
 *          "clients":[[…flat row-major values…],…]}]}
 * Output: the same object with every client's values replaced by its PFA result (float32, printed in the
 *         shortest decimal form that reads back to the same float32), or {"error":{…}} with exit code 1.
 */
import { z } from 'zod';
import { pfaTransformTensor, progressiveThreshold, resolveDivisor } from '../src/index';

const tensorSchema = z
  .object({
    kind: z.enum(['conv', 'linear']),
    shape: z.array(z.int().positive()),
    clients: z.array(z.array(z.number())).min(1),
  })
  .superRefine((t, ctx) => {
    const rank = t.kind === 'conv' ? 4 : 2;
    if (t.shape.length !== rank) {
      ctx.addIssue({ code: 'custom', path: ['shape'], message: `${t.kind} needs a rank-${rank} shape` });
      return;
    }
    const size = t.shape.reduce((a, b) => a * b, 1);
    t.clients.forEach((values, k) => {
      if (values.length !== size) {
        ctx.addIssue({
          code: 'custom',
          path: ['clients', k],
          message: `expected ${size} values for shape [${t.shape.join(', ')}], got ${values.length}`,
        });
      }
    });
  });

const inputSchema = z
  .object({
    lRate: z.number().min(0).max(1),
    round: z.int().nonnegative(),
    rounds: z.int().positive(),
    // A number, "K" (the number of clients, the default) or "seed" (the seed's literal 4).
    divisor: z.union([z.number().positive(), z.literal('K'), z.literal('seed')]).optional(),
    tensors: z.array(tensorSchema).min(1),
  })
  .superRefine((input, ctx) => {
    if (input.round > input.rounds) {
      ctx.addIssue({ code: 'custom', path: ['round'], message: `round must not exceed rounds (${input.rounds})` });
    }
    const k = input.tensors[0]?.clients.length;
    input.tensors.forEach((t, i) => {
      if (t.clients.length !== k) {
        ctx.addIssue({
          code: 'custom',
          path: ['tensors', i, 'clients'],
          message: `every tensor needs the same number of clients (${k}), got ${t.clients.length}`,
        });
      }
    });
  });

export type PfaCliInput = z.infer<typeof inputSchema>;

export interface PfaCliResult {
  exitCode: 0 | 1;
  output: unknown;
}

/** Shortest decimal that parses back to the same float32 (at most 9 significant digits are ever needed). */
function shortestFloat32(v: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(v.toPrecision(digits));
    if (Math.fround(candidate) === v) return candidate;
  }
  return v;
}

export function runPfaCli(text: string): PfaCliResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return failure(`input is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = inputSchema.safeParse(json);
  if (!parsed.success) {
    return failure(
      'invalid input',
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
  const input = parsed.data;
  try {
    const threshold = progressiveThreshold(input.lRate, input.round, input.rounds);
    const tensors = input.tensors.map((t) => {
      const divisor = resolveDivisor(input.divisor === 'K' ? undefined : input.divisor, t.clients.length);
      const layout = t.kind === 'conv' ? 'torch-conv' : 'torch-linear';
      const clients = pfaTransformTensor(layout, t.shape, t.clients, threshold, divisor);
      return { ...t, clients: clients.map((values) => Array.from(values, shortestFloat32)) };
    });
    return { exitCode: 0, output: { ...input, tensors } };
  } catch (e) {
    return failure((e as Error).message);
  }
}

function failure(message: string, issues?: { path: string; message: string }[]): PfaCliResult {
  return { exitCode: 1, output: { error: issues ? { message, issues } : { message } } };
}
