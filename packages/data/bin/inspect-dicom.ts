/**
 * npm run -s inspect-dicom -- FILE...
 * One JSON object per line per file, decoded by the same code the browser uses.
 * Exit status 1 when any file failed, so scripts can notice.
 */
import { readFile } from 'node:fs/promises';
import { inspectDicom, type InspectRecord } from '../src/dicom/inspect';

const files = process.argv.slice(2).filter((a) => a !== '--');
if (files.length === 0) {
  process.stderr.write('usage: inspect-dicom FILE...\n');
  process.exit(2);
}
let failed = false;
for (const file of files) {
  let record: InspectRecord;
  try {
    record = await inspectDicom(new Uint8Array(await readFile(file)), file);
  } catch (error) {
    record = { file, ok: false, error: `cannot read the file: ${(error as Error).message}` };
  }
  failed ||= !record.ok;
  process.stdout.write(`${JSON.stringify(record)}\n`);
}
process.exitCode = failed ? 1 : 0;
