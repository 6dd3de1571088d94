export * from './schema';
export { buildPrivacyCard, hospitalCopy, ledgerEntry, EVALUATION_NOTES, type PrivacyCardInput } from './build';
export { releasePolicy } from './release-policy';
export { wilsonInterval, accuracyInterval, Z_95, MIN_TEST_SLICES } from './wilson';
export { renderPrivacyCardHtml, escapeHtml } from './html';
export { roundsCsv, ledgerCsv, toCsv, csvField, type CsvValue } from './csv';
export { TERMS, formatEpsilon, formatDelta } from './wording';
