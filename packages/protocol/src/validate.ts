import type { z } from 'zod';

/** Parses an incoming message; on failure returns a one-line reason naming the bad fields. */
export function parseMessage<S extends z.ZodType>(
  schema: S,
  data: unknown,
): { ok: true; value: z.infer<S> } | { ok: false; reason: string } {
  const r = schema.safeParse(data);
  if (r.success) return { ok: true, value: r.data };
  const reason = r.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`)
    .join('; ');
  return { ok: false, reason };
}
