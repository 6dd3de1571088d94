/** The per-file record printed by `inspect-dicom` (one JSON object per line). */
import { DataError } from '../errors';
import { decodeDicom } from './decode';
import { valueStats } from './stats';

export type InspectRecord =
  | { file: string; ok: true; rows: number; cols: number; transferSyntax: string; min: number; max: number; mean: number }
  | { file: string; ok: false; error: string };

/** min/max/mean are of the rescaled values (slope/intercept applied), before any windowing. */
export async function inspectDicom(bytes: Uint8Array, file: string): Promise<InspectRecord> {
  try {
    const slice = await decodeDicom(bytes, file);
    const { min, max, mean } = valueStats(slice.values);
    return { file, ok: true, rows: slice.rows, cols: slice.columns, transferSyntax: slice.transferSyntaxUid, min, max, mean };
  } catch (error) {
    if (error instanceof DataError) return { file, ok: false, error: error.problem };
    return { file, ok: false, error: `unexpected failure: ${error instanceof Error ? error.message : String(error)}` };
  }
}
