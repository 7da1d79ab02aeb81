// Files of a build or source folder served by name: only plain names of known types, so a
// request can never leave the folder.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError } from './respond.js';

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  wasm: 'application/wasm',
  map: 'application/json',
};
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `path`: segments below `dir` (at most `depth`). Throws 404 for anything else. */
export async function readStatic(dir: string, path: string[], depth = 2): Promise<{ body: Buffer; type: string }> {
  if (path.length === 0 || path.length > depth || !path.every((p) => SAFE_SEGMENT.test(p))) throw new HttpError(404, `no such file ${path.join('/')}`);
  const type = TYPES[path.at(-1)!.split('.').at(-1) ?? ''];
  if (type === undefined) throw new HttpError(404, `no such file ${path.join('/')}`);
  try {
    return { body: await readFile(join(dir, ...path)), type };
  } catch {
    throw new HttpError(404, `${path.join('/')} is not in ${dir}`);
  }
}
