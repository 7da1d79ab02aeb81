// Packs bench/gpu into bench/gpu/bundle/ (ignored by git), for a GPU machine that has no Node:
// the benchmark bundled into one file (esbuild), this machine's Node binary, the webgpu
// package's Dawn build for linux-x64 and the Vulkan loader, gzipped where large. Run it
// on a linux-x64 machine with the repository installed (npm ci): `node bench/gpu/pack.mjs`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(here, 'bundle');
if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`pack on linux-x64 (the GPU machine's platform), not ${process.platform}-${process.arch}`);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, 'cnn.ts')],
  outfile: join(out, 'bench.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Dawn is a native addon, copied beside the bundle; the optional packages are absent there.
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});

const webgpu = join(root, 'node_modules', 'webgpu');
const dawn = join(out, 'node_modules', 'webgpu');
mkdirSync(join(dawn, 'dist'), { recursive: true });
for (const f of ['index.js', 'package.json', 'LICENSE.md']) copyFileSync(join(webgpu, f), join(dawn, f));
cpSync(join(webgpu, 'dist', 'linux-x64'), join(dawn, 'dist', 'linux-x64'), { recursive: true });
// The package's own dependencies (types, debug) are not needed at run time by index.js.

const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/chromium/libvulkan.so.1'].find(existsSync);
if (!loader) throw new Error('no Vulkan loader to carry: apt-get install libvulkan1');
copyFileSync(realpathSync(loader), join(out, 'libvulkan.so.1'));

copyFileSync(process.execPath, join(out, 'node'));
for (const big of ['node', join('node_modules', 'webgpu', 'dist', 'linux-x64', 'dawn.node')]) execFileSync('gzip', ['-9', '-f', join(out, big)]);

const size = (p) => statSync(p).size;
const total = execFileSync('du', ['-sb', out], { encoding: 'utf8' }).split('\t')[0];
console.log(`bench/gpu/bundle: ${(Number(total) / 2 ** 20).toFixed(1)} MiB (node ${process.version} ${(size(join(out, 'node.gz')) / 2 ** 20).toFixed(1)} MiB gzipped, Dawn, the Vulkan loader, bench.mjs). Copy bench/gpu/run.sh and bench/gpu/bundle/ to the GPU machine and run bench/gpu/run.sh.`);
