import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { handleBatchLine } from "../bin/batch";

const parse = (line: string) => JSON.parse(handleBatchLine(line) ?? "null") as Record<string, unknown>;

describe("privacy batch", () => {
  it("answers ε and the best order for RDP, ε and μ for GDP", () => {
    const rdp = parse('{"accountant":"rdp","q":0.01,"sigma":1.0,"steps":1000,"delta":1e-5,"orders":"dp_accounting","sampling":"poisson"}');
    expect(rdp.epsilon).toBeCloseTo(2.10137, 5);
    expect(rdp.best_order).toBe(7.8);
    const gdp = parse('{"accountant":"gdp","q":0.04,"sigma":1.5,"steps":2249,"delta":1e-5,"sampling":"poisson"}');
    expect(gdp.epsilon).toBeCloseTo(6.5998, 4);
    expect(gdp.mu).toBeGreaterThan(0);
    expect(gdp.warnings).toEqual(["gdp_clt_approximation"]);
  });

  it("calibrates σ and echoes an id", () => {
    const out = parse('{"id":"c1","calibrate":true,"accountant":"rdp","q":0.01,"steps":1000,"delta":1e-5,"epsilon":1,"orders":"dp_accounting"}');
    expect(out.id).toBe("c1");
    expect(out.sigma).toBeCloseTo(1.51312, 5);
    expect(out.epsilon_at_sigma as number).toBeLessThanOrEqual(1);
  });

  it("writes ∞ as null with a marker, and errors as {error} instead of failing", () => {
    const inf = parse('{"q":0.5,"sigma":0,"steps":1,"delta":1e-5}');
    expect(inf).toMatchObject({ epsilon: null, epsilon_nonfinite: "inf" });
    for (const bad of ["not json", '{"q":2,"sigma":1,"steps":1,"delta":1e-5}', '{"q":0.1,"sigma":1,"steps":1,"delta":1e-5,"sigm":2}', '{"q":0.1,"sigma":1,"steps":0.5,"delta":1e-5}', "[]"]) {
      expect(typeof parse(bad).error, bad).toBe("string");
    }
    expect(handleBatchLine("   ")).toBeNull();
  });

  it("runs as `privacy batch` on stdin, one answer per request, in order", () => {
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    const tsx = fileURLToPath(new URL("../../../node_modules/tsx/dist/cli.mjs", import.meta.url));
    const input = [
      '{"accountant":"rdp","q":1,"sigma":1,"steps":100,"delta":1e-5}',
      "oops",
      '{"accountant":"gdp","q":1,"sigma":1,"steps":100,"delta":1e-5}',
    ].join("\n");
    const run = spawnSync(process.execPath, [tsx, "packages/privacy/bin/privacy.ts", "batch"], { cwd: root, input, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]!.epsilon).toBeCloseTo(96.1163, 3);
    expect(lines[1]!.error).toBeTypeOf("string");
    expect(lines[2]!.epsilon).toBeCloseTo(91.8173, 3);
  });
});
