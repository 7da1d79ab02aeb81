// Picks the fastest TF.js backend present: tensorflow (tfjs-node-gpu or tfjs-node, optional),
// then wasm (with our training kernels), then cpu.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from './kernels/register.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

interface BackendStrategy {
  name: BackendName;
  /** Loads what the backend needs; false when it is not available here. */
  enabled(): Promise<boolean>;
  /** Runs once the backend is initialised (e.g. registers our training kernels). */
  prepare?(): void;
}

const strategies: BackendStrategy[] = [
  {
    name: 'tensorflow',
    async enabled() {
      // tfjs-node(-gpu) downloads libtensorflow at install time and cannot install
      // everywhere; they are optional peers, loaded only when present (the GPU build first).
      // The specifiers are variables so the type checker does not insist on the packages.
      for (const optionalPackage of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
        try {
          await import(optionalPackage);
          return true;
        } catch {
          continue;
        }
      }
      return false;
    },
  },
  { name: 'wasm', enabled: async () => true, prepare: () => registerTrainingKernels('wasm') },
  { name: 'cpu', enabled: async () => true },
];

/**
 * Selects and initialises a backend. `preferred` (or SYNCLINE_BACKEND) forces one; otherwise
 * the first strategy that is enabled and initialises wins.
 */
export async function selectBackend(preferred: string | undefined = process.env.SYNCLINE_BACKEND): Promise<BackendName> {
  const candidates = preferred ? strategies.filter((s) => s.name === preferred) : strategies;
  if (preferred && candidates.length === 0) {
    throw new Error(`unknown backend ${JSON.stringify(preferred)}; expected one of: ${strategies.map((s) => s.name).join(', ')}`);
  }
  for (const strategy of candidates) {
    if (!(await strategy.enabled())) continue;
    if (await tf.setBackend(strategy.name)) {
      await tf.ready();
      strategy.prepare?.();
      return strategy.name;
    }
  }
  throw new Error(`no TF.js backend could be initialised (tried ${candidates.map((s) => s.name).join(', ')})`);
}
