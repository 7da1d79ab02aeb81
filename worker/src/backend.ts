// Picks the fastest TF.js backend present: native (our oneDNN/OpenBLAS addon, when built), then
// tensorflow (tfjs-node-gpu or tfjs-node, optional), then wasm (with our training kernels), then
// cpu. The choice comes with its reason, which the worker logs as one line.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadAddon, type NativeAddon } from './backends/native/addon.js';
import { registerNativeBackend } from './backends/native/backend.js';
import { chooseThreads } from './backends/native/threads.js';
import { registerCpuCorrections } from './kernels/cpu/register.js';
import { registerTrainingKernels } from './kernels/register.js';

// Before anything trains or copies cpu's kernels (native does): every backend built on cpu,
// and cpu as the tests' reference, get the corrected kernels.
registerCpuCorrections('cpu');

export type BackendName = 'native' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Threads of the native backend (--threads); default SYNCLINE_THREADS, else every core given. */
  threads?: string | number;
}

export interface BackendChoice {
  name: BackendName;
  /** What the backend runs on and, when faster ones were passed over, why. */
  reason: string;
}

interface BackendStrategy {
  name: BackendName;
  /** Loads what the backend needs; why it cannot run here, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /** Runs once the backend is initialised; describes how it runs. */
  prepare?(options: BackendOptions): string;
}

let addon: NativeAddon | undefined;

const strategies: BackendStrategy[] = [
  {
    name: 'native',
    async unavailable() {
      const load = loadAddon();
      if ('reason' in load) return load.reason;
      addon = load.addon;
      registerNativeBackend(addon);
      return undefined;
    },
    prepare(options) {
      const { threads, source } = chooseThreads(options.threads ?? process.env.SYNCLINE_THREADS);
      addon!.setThreads(threads);
      const { onednn, openblas } = addon!.versions();
      const blas = openblas.match(/OpenBLAS (\S+).*?(\S+) MAX_THREADS/);
      return `oneDNN ${onednn}, OpenBLAS ${blas ? `${blas[1]} (${blas[2]})` : openblas}, ${threads} thread${threads === 1 ? '' : 's'} from the ${source}`;
    },
  },
  {
    name: 'tensorflow',
    async unavailable() {
      // tfjs-node(-gpu) downloads libtensorflow at install time and cannot install
      // everywhere; they are optional peers, loaded only when present (the GPU build first).
      // The specifiers are variables so the type checker does not insist on the packages.
      for (const optionalPackage of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
        try {
          await import(optionalPackage);
          return undefined;
        } catch {
          continue;
        }
      }
      return '@tensorflow/tfjs-node is not installed';
    },
  },
  {
    name: 'wasm',
    unavailable: async () => undefined,
    prepare: () => {
      registerTrainingKernels('wasm');
      return 'one thread, with Syncline training kernels';
    },
  },
  { name: 'cpu', unavailable: async () => undefined },
];

/**
 * Selects and initialises a backend. `preferred` (or SYNCLINE_BACKEND) forces one, and fails
 * with the reason when it cannot run; otherwise the first strategy that is available and
 * initialises wins, and the reason names what was passed over.
 */
export async function selectBackend(preferred: string | undefined = process.env.SYNCLINE_BACKEND, options: BackendOptions = {}): Promise<BackendChoice> {
  const candidates = preferred ? strategies.filter((s) => s.name === preferred) : strategies;
  if (preferred && candidates.length === 0) {
    throw new Error(`unknown backend ${JSON.stringify(preferred)}; expected one of: ${strategies.map((s) => s.name).join(', ')}`);
  }
  const passedOver: string[] = [];
  for (const strategy of candidates) {
    const why = await strategy.unavailable();
    if (why !== undefined) {
      passedOver.push(`${strategy.name}: ${why}`);
      continue;
    }
    if (await tf.setBackend(strategy.name)) {
      await tf.ready();
      const how = strategy.prepare?.(options);
      // Passing over tensorflow is the normal case (it is an optional package): not worth a word.
      const notable = passedOver.filter((p) => !p.startsWith('tensorflow:'));
      const reason = [how, ...notable.map((p) => `not ${p}`)].filter(Boolean).join('; ');
      return { name: strategy.name, reason: reason || 'selected' };
    }
    passedOver.push(`${strategy.name}: it did not initialise`);
  }
  throw new Error(`no TF.js backend could be initialised (${passedOver.join('; ')})`);
}

