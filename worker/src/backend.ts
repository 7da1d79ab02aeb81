// Picks the fastest TF.js backend present: tensorflow on CUDA (tfjs-node-gpu, optional), then
// webgpu (Dawn, when a GPU adapter exists), native (our oneDNN/OpenBLAS addon, when built),
// tensorflow on the CPU (tfjs-node, optional), wasm (with our training kernels), then cpu.
// The choice comes with its reason, which the worker logs as one line.
import { cpus, totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { Accelerator } from '@syncline/proto';
import '@tensorflow/tfjs-backend-wasm';
import { loadAddon, type NativeAddon } from './backends/native/addon.js';
import { registerNativeBackend } from './backends/native/backend.js';
import { chooseThreads } from './backends/native/threads.js';
import { describeAdapter, findAdapter, type AdapterReport } from './backends/webgpu/adapter.js';
import { registerWebGPUBackend, webgpuAdapter } from './backends/webgpu/backend.js';
import { registerCpuCorrections } from './kernels/cpu/register.js';
import { registerTrainingKernels } from './kernels/register.js';

// Before anything trains or copies cpu's kernels (native does): every backend built on cpu,
// and cpu as the tests' reference, get the corrected kernels.
registerCpuCorrections('cpu');

export type BackendName = 'native' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Threads of the native backend (--threads); default SYNCLINE_THREADS, else every core given. */
  threads?: string | number;
}

export interface BackendChoice {
  name: BackendName;
  /** What the backend runs on and, when faster ones were passed over, why. */
  reason: string;
  /** The GPU it runs on (webgpu). */
  adapter?: AdapterReport;
  /** What the worker advertises when it joins: jobs choose workers by its kind. */
  accelerator: Accelerator;
}

interface BackendStrategy {
  name: BackendName;
  /**
   * Loads what the backend needs; why it cannot run here, or undefined when it can. `asked`:
   * the backend was named (--backend), not picked as the fastest present.
   */
  unavailable(asked: boolean): Promise<string | undefined>;
  /** Runs once the backend is initialised; describes how it runs. */
  prepare?(options: BackendOptions): string;
  /** The GPU it computes on; absent: the host's CPU. */
  gpu?(): Accelerator;
}

function hostCpu(): Accelerator {
  return { kind: 'cpu', device: cpus()[0]?.model.trim() ?? 'unknown', description: `${cpus().length} cores`, memoryBytes: totalmem(), maxBindingBytes: 0, software: false };
}

let addon: NativeAddon | undefined;

async function importable(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

// The specifiers are variables so the type checker does not insist on the optional packages.
const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE = '@tensorflow/tfjs-node';

const strategies: BackendStrategy[] = [
  {
    // CUDA through tfjs-node-gpu (CUDA 11.2 / cuDNN 8.1 only), first when it is installed.
    name: 'tensorflow',
    unavailable: async () => ((await importable(TFJS_NODE_GPU)) ? undefined : `${TFJS_NODE_GPU} is not installed`),
    prepare: () => 'tfjs-node-gpu (CUDA)',
    gpu: () => ({ kind: 'gpu', device: 'CUDA', description: 'tfjs-node-gpu (CUDA 11.2, cuDNN 8.1)', memoryBytes: 0, maxBindingBytes: 0, software: false }),
  },
  {
    name: 'webgpu',
    async unavailable(asked) {
      // A software adapter (SwiftShader) is slower than native: used only when asked for by name.
      const adapter = await findAdapter(asked);
      if ('reason' in adapter) return adapter.reason;
      await registerWebGPUBackend(adapter);
      return undefined;
    },
    prepare: () => {
      registerTrainingKernels('webgpu');
      return describeAdapter(webgpuAdapter()!.report);
    },
    gpu: () => {
      const r = webgpuAdapter()!.report;
      return { kind: 'gpu', device: `${r.vendor} ${r.architecture}`.trim(), description: [r.device, r.description].filter(Boolean).join(', '), memoryBytes: r.maxBufferSize, maxBindingBytes: r.maxStorageBufferBindingSize, software: r.software };
    },
  },
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
      // everywhere; they are optional peers, loaded only when present.
      for (const optionalPackage of [TFJS_NODE_GPU, TFJS_NODE]) if (await importable(optionalPackage)) return undefined;
      return `${TFJS_NODE} is not installed`;
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
  const candidates = preferred ? strategies.filter((s) => s.name === preferred).slice(-1) : strategies;
  if (preferred && candidates.length === 0) {
    throw new Error(`unknown backend ${JSON.stringify(preferred)}; expected one of: ${[...new Set(strategies.map((s) => s.name))].join(', ')}`);
  }
  const passedOver: string[] = [];
  for (const strategy of candidates) {
    const why = await strategy.unavailable(Boolean(preferred));
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
      const adapter = strategy.name === 'webgpu' ? webgpuAdapter()?.report : undefined;
      return { name: strategy.name, reason: reason || 'selected', ...(adapter ? { adapter } : {}), accelerator: strategy.gpu?.() ?? hostCpu() };
    }
    passedOver.push(`${strategy.name}: it did not initialise`);
  }
  throw new Error(`no TF.js backend could be initialised (${passedOver.join('; ')})`);
}

