/**
 * Command line for @fedward/privacy.
 *   npm run -s privacy -- batch < requests.jsonl > answers.jsonl
 * See bin/batch.ts and the package README for the line format.
 */

import { createInterface } from "node:readline";
import { handleBatchLine } from "./batch";

const USAGE = `usage: privacy batch   (JSON lines on stdin → JSON lines on stdout)
  {"accountant":"rdp"|"gdp","q":0.01,"sigma":1.1,"steps":1000,"delta":1e-5,"orders":"dp_accounting"|"opacus"|"tf_privacy","sampling":"poisson"|"uniform","conversion":"improved"|"classic"|"opacus"}
  {"calibrate":true,"accountant":"rdp","q":0.01,"steps":1000,"delta":1e-5,"epsilon":3}
`;

async function batch(): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    const out = handleBatchLine(line);
    if (out !== null && !process.stdout.write(`${out}\n`)) {
      await new Promise<void>((resolve) => process.stdout.once("drain", () => resolve()));
    }
  }
}

const command = process.argv[2];
if (command === "batch") {
  await batch();
} else {
  process.stderr.write(USAGE);
  process.exitCode = command === undefined || command === "help" || command === "--help" ? 0 : 2;
}
