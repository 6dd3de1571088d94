/**
 * The files a study hands out, by the last part of their URL (`/api/admin/studies/<id>/<file>` for
 * the admin, `/api/studies/<id>/<file>` for an enrolled hospital). The server serves exactly
 * these; the apps offer exactly these.
 */
export const EXPORT_FILES = ['model.json', 'weights.bin', 'model.onnx', 'privacy-card.html', 'privacy-card.json', 'rounds.csv', 'ledger.csv'] as const;
export type ExportName = (typeof EXPORT_FILES)[number];

/**
 * What an enrolled hospital may take home: the model and its own copy of the card. The rounds CSV
 * holds every hospital's reports, so it stays the admin's.
 */
export const HOSPITAL_EXPORT_FILES = ['model.json', 'weights.bin', 'model.onnx', 'privacy-card.html', 'privacy-card.json'] as const satisfies readonly ExportName[];
export type HospitalExportName = (typeof HOSPITAL_EXPORT_FILES)[number];

export function isExportName(name: string): name is ExportName {
  return (EXPORT_FILES as readonly string[]).includes(name);
}

export function isHospitalExportName(name: string): name is HospitalExportName {
  return (HOSPITAL_EXPORT_FILES as readonly string[]).includes(name);
}
