// Builds the SDK with esbuild (`node sdk/scripts/build.mjs`, or `npm run build -w sdk`):
//   dist/syncline-sdk.esm.js            ESM for bundlers: the SDK alone, tfjs packages left as imports
//   dist/browser/syncline-sdk.min.js    minified and self-contained, for <script type="module">;
//   dist/browser/chunks/*.js            each tfjs backend in its own chunk, fetched only when picked;
//   dist/browser/*.wasm                 the wasm backend's binaries, which it looks for next to the bundle
//   dist/meta/browser.json              esbuild's metafile of the browser build (sdk/bench/bundle.ts reads it)
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const sdk = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(sdk, 'dist');
const entry = join(sdk, 'src', 'index.ts');
const shared = { entryPoints: [entry], bundle: true, format: 'esm', target: 'es2020', logLevel: 'warning' };

await rm(dist, { recursive: true, force: true });

await esbuild.build({
  ...shared,
  outfile: join(dist, 'syncline-sdk.esm.js'),
  platform: 'neutral',
  external: ['@tensorflow/*'],
});

const browser = await esbuild.build({
  ...shared,
  outdir: join(dist, 'browser'),
  entryNames: 'syncline-sdk.min',
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'browser',
  splitting: true,
  minify: true,
  // Licences go to one file per output instead of the middle of the code a page downloads.
  legalComments: 'linked',
  metafile: true,
});
await mkdir(join(dist, 'meta'), { recursive: true });
await writeFile(join(dist, 'meta', 'browser.json'), JSON.stringify(browser.metafile));

const wasmDist = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const file of await readdir(wasmDist)) {
  if (file.endsWith('.wasm')) await copyFile(join(wasmDist, file), join(dist, 'browser', file));
}
