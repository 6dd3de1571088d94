/** A folder on disk as ImportFile handles (what a browser folder picker gives the app). */
import { openAsBlob } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { ImportFile } from '../import';

export interface FolderImportOptions {
  /**
   * Also hand each file over as a file-backed Blob (fs.openAsBlob), as a browser's File is:
   * the importer then reads them in groups, and a file changed after listing fails to read.
   */
  blobs?: boolean;
}

/**
 * Lists every file below `dir`. relativePath starts with the folder's own name,
 * like File.webkitRelativePath does for <input webkitdirectory>.
 */
export async function folderImportFiles(dir: string, options: FolderImportOptions = {}): Promise<ImportFile[]> {
  const parent = join(dir, '..');
  const out: ImportFile[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const { size } = await stat(path);
        const relativePath = relative(parent, path).split(sep).join('/') || basename(path);
        if (options.blobs) {
          const blob = await openAsBlob(path);
          out.push({ name: entry.name, relativePath, size, blob, bytes: async () => new Uint8Array(await blob.arrayBuffer()) });
        } else out.push({ name: entry.name, relativePath, size, bytes: async () => new Uint8Array(await readFile(path)) });
      }
    }
  };
  await walk(dir);
  return out;
}
