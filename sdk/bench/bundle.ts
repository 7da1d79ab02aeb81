// sdk-bundle: what a web page downloads for the SDK, from the browser build's metafile. The
// main line is min+gzip of the SDK + tfjs-core + tfjs-layers + the wasm backend's JS (the path
// a page without WebGPU or WebGL takes; goal < 200 kB); each other backend's path and the
// .wasm binaries (fetched by the wasm backend, one of them per page) get lines of their own.
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Bench } from '../../bench/registry.js';

const sdk = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(sdk, 'dist');
const ENTRY = 'syncline-sdk.min.js';
const GOAL_GZIP_BYTES = 200_000;

interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, unknown>; imports: { path: string; kind: string }[] }>;
}

/** An output and everything it imports statically: what loads before its code runs. */
function staticClosure(meta: Metafile, start: string, into = new Set<string>()): Set<string> {
  if (into.has(start)) return into;
  into.add(start);
  for (const imported of meta.outputs[start]?.imports ?? []) {
    if (imported.kind === 'import-statement') staticClosure(meta, imported.path, into);
  }
  return into;
}

async function sizes(root: string, files: Iterable<string>): Promise<{ files: string[]; minBytes: number; gzipBytes: number }> {
  const names = [...files].sort();
  const contents = await Promise.all(names.map((f) => readFile(join(root, f))));
  return {
    files: names.map((f) => f.split('/').slice(-2).join('/')),
    minBytes: contents.reduce((n, c) => n + c.byteLength, 0),
    // Each file is its own HTTP response, so each is compressed on its own.
    gzipBytes: contents.reduce((n, c) => n + gzipSync(c, { level: 9 }).byteLength, 0),
  };
}

export const sdkBundle: Bench = {
  name: 'sdk-bundle',
  description: 'browser bundle min+gzip: SDK + tfjs-core + tfjs-layers + each backend (goal for wasm < 200 kB), and the .wasm files',
  async run(emit) {
    execFileSync(process.execPath, [join(sdk, 'scripts', 'build.mjs')], { stdio: 'inherit' });
    const meta = JSON.parse(await readFile(join(dist, 'meta', 'browser.json'), 'utf8')) as Metafile;
    // Metafile paths are relative to the working directory esbuild ran in (the repository root).
    const root = join(sdk, '..');
    const entry = Object.keys(meta.outputs).find((path) => path.endsWith(`/${ENTRY}`));
    if (entry === undefined) throw new Error(`no ${ENTRY} in the metafile`);
    const page = staticClosure(meta, entry);
    emit({ part: 'js', backend: 'none (SDK, core, layers)', ...(await sizes(root, page)) });
    for (const backend of ['wasm', 'webgl', 'webgpu', 'cpu']) {
      const chunk = Object.entries(meta.outputs).find(([, o]) => Object.keys(o.inputs).some((i) => i.includes(`@tensorflow/tfjs-backend-${backend}/`) && !i.includes('/shared')))?.[0];
      if (chunk === undefined) throw new Error(`no chunk holds the ${backend} backend`);
      const files = staticClosure(meta, chunk, new Set(page));
      const figures = await sizes(root, files);
      emit({
        part: 'js',
        backend,
        ...figures,
        ...(backend === 'wasm' && { goalGzipBytes: GOAL_GZIP_BYTES, withinGoal: figures.gzipBytes < GOAL_GZIP_BYTES }),
      });
    }
    const browserDir = join(dist, 'browser');
    for (const file of (await readdir(browserDir)).filter((f) => f.endsWith('.wasm')).sort()) {
      const bytes = await readFile(join(browserDir, file));
      emit({ part: 'wasm', file, bytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength });
    }
  },
};
