// Every benchmark, in one registration list. A benchmark emits one line per result.
import { compressionBench } from '../cli/bench/compression.js';
import { registryBench } from '../coordinator/bench/registry.js';
import { scalingBench } from '../cli/bench/scaling.js';
import { allreduceBench } from '../worker/bench/allreduce.js';
import { augmentBench } from '../worker/bench/augment.js';
import { trainBenches } from '../worker/bench/train.js';
import { vsPytorchBench } from '../worker/bench/vs-pytorch.js';
import { webgpuKernelsBench } from '../worker/bench/webgpu-kernels.js';
import { sdkBenches } from '../sdk/bench/index.js';

export type Emit = (figures: Record<string, unknown>) => void;

/** Command-line settings for the benchmarks that take them. */
export interface BenchOptions {
  /** The TF.js backend to train on (train-mlp, train-cnn); default wasm. */
  backend?: string;
  /** Global batch size (train-mlp, train-cnn on a backend other than wasm; webgpu-kernels); default 256 (webgpu-kernels: 8). */
  batch?: number;
}

export interface Bench {
  name: string;
  description: string;
  run(emit: Emit, options?: BenchOptions): Promise<void>;
}

export const benches: Bench[] = [...trainBenches, webgpuKernelsBench, augmentBench, vsPytorchBench, allreduceBench, compressionBench, scalingBench, registryBench, ...sdkBenches];
