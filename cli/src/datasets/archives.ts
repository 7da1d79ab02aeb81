// Unpacks a .zip or .tar(.gz) of an image folder into a temporary folder, which the caller
// removes; entries that would land outside it are refused by the libraries (zip-slip).
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yauzl from 'yauzl';

export const ARCHIVE_EXTENSIONS = ['.zip', '.tar', '.tar.gz', '.tgz'] as const;

export function isArchive(path: string): boolean {
  const lower = path.toLowerCase();
  return ARCHIVE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

export class ArchiveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArchiveError';
  }
}

/** Unpacks `archive`; resolves with the folder and a function that removes it. */
export async function unpack(archive: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'syncline-upload-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    if (archive.toLowerCase().endsWith('.zip')) await unzip(archive, dir);
    else await tar.x({ file: archive, cwd: dir, strict: true });
  } catch (err) {
    await remove();
    throw new ArchiveError(`${archive}: cannot unpack: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { dir, remove };
}

async function unzip(archive: string, dir: string): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) => yauzl.open(archive, { lazyEntries: true, strictFileNames: false }, (err, z) => (err ? rej(err) : res(z))));
  try {
    await new Promise<void>((res, rej) => {
      zip.on('error', rej);
      zip.on('end', () => res());
      zip.on('entry', (entry: yauzl.Entry) => {
        const target = resolve(dir, entry.fileName);
        if (!target.startsWith(dir + sep)) return rej(new Error(`entry ${entry.fileName} points outside the archive`));
        if (entry.fileName.endsWith('/')) {
          mkdir(target, { recursive: true }).then(() => zip.readEntry(), rej);
          return;
        }
        zip.openReadStream(entry, (err, stream) => {
          if (err) return rej(err);
          mkdir(dirname(target), { recursive: true })
            .then(() => pipeline(stream, createWriteStream(target)))
            .then(() => zip.readEntry(), rej);
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}
