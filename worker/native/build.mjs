// Builds the native addon (worker/native/build/syncline-native.node) with the system's C++
// compiler against Node-API headers from the npm registry (node-api-headers) and Debian's
// oneDNN (libdnnl-dev) and OpenBLAS (libopenblas-dev): no node-gyp, nothing downloaded. Node-API
// is ABI-stable, so one build serves every Node version from 18 on.
//
//   node worker/native/build.mjs              build when a source changed; exit 1 with the reason
//   node worker/native/build.mjs --if-possible   the same, but never fail (npm install runs this)
// Either way a build that cannot happen leaves its reason in build/unavailable.txt, which the
// worker reports when it falls back to wasm. scripts/ensure-deps.mjs imports buildAddon() and
// MISSING_PACKAGES to install what is missing first.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = join(here, 'src');
const buildDir = join(here, 'build');
const objectDir = join(buildDir, 'obj');
export const addonPath = join(buildDir, 'syncline-native.node');
const unavailablePath = join(buildDir, 'unavailable.txt');
const compiler = process.env.CXX ?? 'c++';

const FLAGS = ['-std=c++17', '-O3', '-fPIC', '-fopenmp', '-fvisibility=hidden', '-fno-math-errno', '-Wall', '-Wno-unknown-pragmas', '-DNODE_GYP_MODULE_NAME=syncline_native', '-DNAPI_VERSION=8'];
const LIBS = ['-ldnnl', '-lopenblas', '-fopenmp'];
/**
 * Flags of single sources. optimizer.cc and norm.cc must round every operation on its own, as the
 * TF.js kernels they stand in for do: no contraction into fused multiply-adds (GCC contracts by
 * default wherever the target has FMA, e.g. arm64).
 */
const SOURCE_FLAGS = { 'optimizer.cc': ['-ffp-contract=off'], 'norm.cc': ['-ffp-contract=off'] };
/** What each system header needs, named as Debian packages (the message for a machine without them). */
const SYSTEM_HEADERS = [
  { header: 'dnnl.hpp', packages: ['libdnnl-dev'] },
  { header: 'cblas.h', packages: ['libopenblas-dev'] },
];

class Unavailable extends Error {
  constructor(message, packages = []) {
    super(message);
    /** Debian packages that would make it available. */
    this.packages = packages;
  }
}

function nodeApiInclude() {
  try {
    return createRequire(import.meta.url)('node-api-headers').include_dir;
  } catch {
    throw new Unavailable('the npm package node-api-headers is missing (run npm ci)');
  }
}

function compiles(snippet) {
  return spawnSync(compiler, ['-x', 'c++', '-fsyntax-only', '-'], { input: snippet, stdio: ['pipe', 'ignore', 'ignore'] }).status === 0;
}

function checkToolchain() {
  if (spawnSync(compiler, ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Unavailable(`no C++ compiler (${compiler}); install g++ (Debian/Ubuntu: apt-get install -y g++)`, ['g++']);
  }
  const missing = SYSTEM_HEADERS.filter(({ header }) => !compiles(`#include <${header}>\n`)).flatMap((h) => h.packages);
  if (missing.length) throw new Unavailable(`missing ${missing.join(' and ')} (Debian/Ubuntu: apt-get install -y ${missing.join(' ')})`, missing);
}

const newest = (paths) => Math.max(...paths.map((p) => statSync(p).mtimeMs));

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(compiler, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(err) : reject(new Error(`${compiler} ${args.join(' ')} failed:\n${err}`))));
  });
}

/** Compiles the sources that changed (a few at a time) and links the addon. */
async function build() {
  const sources = readdirSync(sourceDir).filter((f) => f.endsWith('.cc'));
  const headers = readdirSync(sourceDir).filter((f) => f.endsWith('.h')).map((f) => join(sourceDir, f));
  const inputsTime = newest([...headers, fileURLToPath(import.meta.url)]);
  if (existsSync(addonPath) && statSync(addonPath).mtimeMs > Math.max(inputsTime, newest(sources.map((s) => join(sourceDir, s))))) return false;
  checkToolchain();
  const include = nodeApiInclude();
  mkdirSync(objectDir, { recursive: true });
  const objects = sources.map((s) => join(objectDir, s.replace(/\.cc$/, '.o')));
  const pending = sources.map((s, i) => ({ source: join(sourceDir, s), object: objects[i], flags: SOURCE_FLAGS[s] ?? [] })).filter(({ source, object }) => !existsSync(object) || statSync(object).mtimeMs <= Math.max(inputsTime, statSync(source).mtimeMs));
  const width = Math.max(1, Math.min(availableParallelism(), 4));
  for (let i = 0; i < pending.length; i += width) {
    await Promise.all(pending.slice(i, i + width).map(({ source, object, flags }) => run([...FLAGS, ...flags, '-I', include, '-c', source, '-o', object])));
  }
  await run(['-shared', '-o', addonPath, ...objects, ...LIBS]);
  return true;
}

/** Debian packages the build lacks on this machine (compiler and headers), none when it has all. */
export function missingPackages() {
  try {
    checkToolchain();
    return [];
  } catch (err) {
    if (err instanceof Unavailable) return err.packages;
    throw err;
  }
}

/**
 * Builds when a source changed. Resolves to { built } (false when it was up to date), or
 * { reason } when it cannot build here; the reason is also left in build/unavailable.txt.
 */
export async function buildAddon() {
  try {
    const built = await build();
    rmSync(unavailablePath, { force: true });
    return { built };
  } catch (err) {
    const reason = err instanceof Unavailable ? err.message : `the build failed: ${err instanceof Error ? err.message : String(err)}`;
    mkdirSync(buildDir, { recursive: true });
    rmSync(addonPath, { force: true });
    writeFileSync(unavailablePath, `${reason}\n`);
    return { reason };
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifPossible = process.argv.includes('--if-possible');
  const result = await buildAddon();
  if ('reason' in result) {
    console.error(`syncline: native backend not built: ${ifPossible ? result.reason.split('\n')[0] : result.reason}`);
    if (!ifPossible) process.exit(1);
  } else if (result.built) {
    console.error(`syncline: built the native addon (${addonPath})`);
  }
}
