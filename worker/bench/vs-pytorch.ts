// `npm run bench -- vs-pytorch`: the MLP, the Keras CNN, an LSTM and the DCGAN of
// examples/mnist-dcgan.json (worker/bench/models.ts)
// trained by PyTorch and by one Syncline worker on the native backend, on the same cores, in the
// same run: one thread, then every core. One JSON line per model and thread count with both
// samples/s and their ratio (Syncline / PyTorch).
//
// Fair conditions for both: each runs as its own process with the same environment, where
// OPENBLAS_NUM_THREADS and OMP_NUM_THREADS are the thread count and OPENBLAS_CORETYPE /
// OPENBLAS_L2_SIZE are unset (set, they hold OpenBLAS to an older kernel). Debian's torch needs
// libopenblas0-pthread, or it falls back to reference BLAS; both are installed here when missing
// (apt-get, as root). The two alternate, twice, and each keeps its better run, so that a busy
// machine slows both alike. SYNCLINE_VS_PYTORCH_SECONDS sets each run's length (default 4).
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Bench } from '../../bench/registry.js';
import { debianPackageInstalled, installDebianPackages } from '../../scripts/os-packages.mjs';
import { chooseThreads } from '../src/backends/native/threads.js';
import { loadAddon } from '../src/backends/native/addon.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const MODELS = ['mlp', 'cnn', 'lstm', 'dcgan'] as const;
const PYTHONS = ['/usr/bin/python3', 'python3'];

interface Result {
  samplesPerSecond: number;
  stepMs: number;
  stepCpuMs: number;
  how?: string;
}

function environment(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

async function lastJsonLine(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  const { stdout } = await run(file, args, { env, maxBuffer: 16 * 2 ** 20, timeout: 10 * 60_000 });
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`${file} ${args.join(' ')} printed no result`);
  return JSON.parse(line) as Result;
}

/** A Python that imports torch, after installing Debian's when we can. */
async function findTorch(): Promise<{ python: string } | { reason: string }> {
  const missing = ['python3-torch', 'libopenblas0-pthread'].filter((p) => !debianPackageInstalled(p));
  const notInstalled = installDebianPackages(missing, 'the PyTorch comparison');
  for (const python of PYTHONS) {
    try {
      await run(python, ['-c', 'import torch']);
      return { python };
    } catch {
      continue;
    }
  }
  return { reason: `no Python with torch (${notInstalled ?? 'python3-torch did not import'})` };
}

const best = (a: Result, b: Result) => (b.samplesPerSecond > a.samplesPerSecond ? b : a);

export const vsPytorchBench: Bench = {
  name: 'vs-pytorch',
  description: 'MLP, Keras CNN and LSTM (batch 256, SGD) and the mnist-dcgan GAN step (batch 256, Adam): PyTorch and one Syncline worker on the native backend, same cores, one thread and all cores',
  async run(emit) {
    const addon = loadAddon();
    if ('reason' in addon) {
      emit({ error: `the native backend is not available: ${addon.reason}` });
      return;
    }
    const torch = await findTorch();
    if ('reason' in torch) {
      emit({ error: torch.reason });
      return;
    }
    const seconds = process.env.SYNCLINE_VS_PYTORCH_SECONDS ?? '4';
    const all = chooseThreads(undefined).threads;
    for (const threads of [...new Set([1, all])]) {
      for (const model of MODELS) {
        const env = environment(threads);
        let pytorch: Result | undefined;
        let syncline: Result | undefined;
        for (let round = 0; round < 2; round++) {
          const p = await lastJsonLine(torch.python, [join(here, 'pytorch', 'train.py'), model, String(threads), seconds], env);
          const s = await lastJsonLine(process.execPath, ['--import', 'tsx', join(here, 'native-train.ts'), model, String(threads), seconds], env);
          pytorch = pytorch ? best(pytorch, p) : p;
          syncline = syncline ? best(syncline, s) : s;
        }
        emit({
          model,
          threads,
          pytorchSamplesPerSecond: pytorch!.samplesPerSecond,
          synclineSamplesPerSecond: syncline!.samplesPerSecond,
          ratio: Number((syncline!.samplesPerSecond / pytorch!.samplesPerSecond).toFixed(3)),
          pytorchStepMs: pytorch!.stepMs,
          synclineStepMs: syncline!.stepMs,
          ratioCpu: Number((pytorch!.stepCpuMs / syncline!.stepCpuMs).toFixed(3)),
          syncline: syncline!.how,
        });
      }
    }
  },
};
