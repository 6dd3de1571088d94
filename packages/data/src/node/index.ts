/** Node-only helpers (filesystem access). The browser entry is ../index.ts. */
export { generateFederation, type GenerateFederationOptions, type GeneratedFederation } from './generate';
export { folderImportFiles, type FolderImportOptions } from './files';
