// How many threads a native worker uses: every core it is given. A container's CPU limit
// (cgroup v2 cpu.max, or v1's CFS quota) when one is set, else the cores this process may run
// on; `--threads` / SYNCLINE_THREADS overrides both.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** CPUs allowed by the cgroup's quota (rounded up), or undefined when there is no limit. */
export function cgroupCpuLimit(read: (path: string) => string | undefined = readText): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max');
  if (v2) {
    const [quota, period] = v2.split(/\s+/);
    if (quota && quota !== 'max' && Number(period) > 0) return Math.max(1, Math.ceil(Number(quota) / Number(period)));
    return undefined;
  }
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  if (quota > 0 && period > 0) return Math.max(1, Math.ceil(quota / period));
  return undefined;
}

export interface ThreadChoice {
  threads: number;
  /** Where the number came from, for the worker's start-up line. */
  source: 'option' | 'cgroup limit' | 'cores';
}

/** `requested` is --threads or SYNCLINE_THREADS (a positive integer), when given. */
export function chooseThreads(requested: string | number | undefined = process.env.SYNCLINE_THREADS, limit = cgroupCpuLimit(), cores = availableParallelism()): ThreadChoice {
  if (requested !== undefined && requested !== '') {
    const n = Number(requested);
    if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a positive integer, got ${JSON.stringify(requested)}`);
    return { threads: n, source: 'option' };
  }
  if (limit !== undefined && limit < cores) return { threads: limit, source: 'cgroup limit' };
  return { threads: cores, source: 'cores' };
}
