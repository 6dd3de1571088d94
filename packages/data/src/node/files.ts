/** A folder on disk as ImportFile handles (what a browser folder picker gives the app). */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { ImportFile } from '../import';

/**
 * Lists every file below `dir`. relativePath starts with the folder's own name,
 * like File.webkitRelativePath does for <input webkitdirectory>.
 */
export async function folderImportFiles(dir: string): Promise<ImportFile[]> {
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
        out.push({
          name: entry.name,
          relativePath: relative(parent, path).split(sep).join('/') || basename(path),
          size,
          bytes: async () => new Uint8Array(await readFile(path)),
        });
      }
    }
  };
  await walk(dir);
  return out;
}
