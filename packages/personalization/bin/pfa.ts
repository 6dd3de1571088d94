// npm run -s pfa -- < input.json   (see pfa-cli.ts for the format). Result or {"error":…} goes to stdout.
import { text } from 'node:stream/consumers';
import { runPfaCli } from './pfa-cli';

const { exitCode, output } = runPfaCli(await text(process.stdin));
process.stdout.write(`${JSON.stringify(output)}\n`);
process.exitCode = exitCode;
