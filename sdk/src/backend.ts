// Picks the tfjs backend models run on: the first candidate whose capability check passes and
// that initialises here (webgpu, webgl, wasm, cpu in a browser; wasm, cpu in Node). Each
// backend's code is imported only when it is tried, so a bundler splits it into its own chunk
// and a page downloads just the one it runs on. tfjs keeps one current backend per process,
// so this sets it for every model loaded.
import * as tf from '@tensorflow/tfjs-core';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

interface Candidate {
  /** Whether this platform could run it at all, asked before its code is downloaded. */
  available(): boolean | Promise<boolean>;
  /** Imports the backend's code, which registers it with tfjs-core. */
  load(): Promise<unknown>;
}

const isNode = () => typeof process === 'object' && typeof process.versions?.node === 'string';
const hasDom = () => typeof document === 'object' || typeof OffscreenCanvas === 'function';

const CANDIDATES: Record<BackendName, Candidate> = {
  webgpu: { available: hasGpuAdapter, load: () => import('@tensorflow/tfjs-backend-webgpu') },
  webgl: { available: () => !isNode() && hasDom(), load: () => import('@tensorflow/tfjs-backend-webgl') },
  wasm: { available: () => typeof WebAssembly === 'object', load: () => loadWasm() },
  cpu: { available: () => true, load: () => import('@tensorflow/tfjs-backend-cpu') },
};

let gpuAdapter: Promise<boolean> | undefined;

/**
 * WebGPU needs more than `navigator.gpu`: many browsers expose the API with no adapter behind
 * it (no GPU, a blocklisted driver), and the webgpu chunk is large; ask first, once.
 */
function hasGpuAdapter(): Promise<boolean> {
  gpuAdapter ??= (async () => {
    if (isNode() || typeof navigator !== 'object' || !('gpu' in navigator)) return false;
    return (await navigator.gpu.requestAdapter()) !== null;
  })().catch(() => false);
  return gpuAdapter;
}

let wasmPaths: string | undefined;

/**
 * Where the wasm backend fetches its `.wasm` files (a folder URL ending in '/'). Needed only
 * when they are not next to the SDK's browser bundle, e.g. after bundling the ESM build into
 * an app. Must be called before the wasm backend first starts.
 */
export function setWasmPaths(prefix: string): void {
  wasmPaths = prefix;
}

async function loadWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the backend finds its files in node_modules itself; in a browser they are served
  // next to the bundle (sdk/scripts/build.mjs copies them there) unless told otherwise.
  const prefix = wasmPaths ?? (isNode() ? undefined : new URL('./', import.meta.url).href);
  if (prefix !== undefined) wasm.setWasmPaths(prefix);
}

/** The order tried when the caller names no backend: the backends this platform could run, fastest first. */
export async function defaultBackendOrder(): Promise<BackendName[]> {
  const available = await Promise.all(BACKENDS.map((name) => CANDIDATES[name].available()));
  return BACKENDS.filter((_, i) => available[i]);
}

// One attempt per backend: a failed wasm start cannot be retried after its module aborted,
// so later loads go straight to the next candidate.
const attempts = new Map<string, Promise<boolean>>();

function initialise(name: string): Promise<boolean> {
  let attempt = attempts.get(name);
  if (attempt === undefined) {
    const candidate = CANDIDATES[name as BackendName] as Candidate | undefined;
    attempt = (async () => {
      if (candidate !== undefined) {
        if (!(await candidate.available())) return false;
        await candidate.load();
      }
      // A name we do not know must already be registered (e.g. by @tensorflow/tfjs-react-native).
      if (tf.findBackendFactory(name) === null) return false;
      return tf.setBackend(name);
    })().catch(() => false);
    attempts.set(name, attempt);
  }
  return attempt;
}

/**
 * Makes `preferred` the current backend, or else the first of the default order that
 * initialises; resolves to the one chosen. `preferred` may also name a backend registered by
 * another package (React Native's 'rn-webgl').
 */
export async function selectBackend(preferred?: BackendName | (string & {})): Promise<string> {
  const tried = [...new Set([...(preferred === undefined ? [] : [preferred]), ...(await defaultBackendOrder())])];
  for (const name of tried) {
    // setBackend is cheap once a backend is initialised; calling it again makes it current.
    if ((await initialise(name)) && (await tf.setBackend(name))) return name;
  }
  throw new Error(`no tfjs backend could be initialised (tried ${tried.join(', ')})`);
}
