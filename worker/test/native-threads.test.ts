// How many threads a native worker runs: --threads / SYNCLINE_THREADS, else a container's CPU
// limit (cgroup v2 or v1), else the cores; and the backend choice says so in its reason.
import test from 'ava';
import { cgroupCpuLimit, chooseThreads } from '../src/backends/native/threads.js';
import { selectBackend } from '../src/backend.js';

const files = (entries: Record<string, string>) => (path: string) => entries[path];

test('cgroup v2 cpu.max: a quota rounds up to whole CPUs; max means no limit', (t) => {
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '400000 100000' })), 4);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '150000 100000' })), 2);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '50000 100000' })), 1);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000' })), undefined);
});

test('cgroup v1 CFS quota, and no cgroup at all', (t) => {
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '300000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })), 3);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })), undefined);
  t.is(cgroupCpuLimit(files({})), undefined);
});

test('the option wins, then a limit below the cores, then the cores', (t) => {
  t.deepEqual(chooseThreads('3', 2, 16), { threads: 3, source: 'option' });
  t.deepEqual(chooseThreads(undefined, 4, 16), { threads: 4, source: 'cgroup limit' });
  t.deepEqual(chooseThreads('', 32, 16), { threads: 16, source: 'cores' });
  t.deepEqual(chooseThreads(undefined, undefined, 8), { threads: 8, source: 'cores' });
  t.throws(() => chooseThreads('0', undefined, 8), { message: /positive integer/ });
  t.throws(() => chooseThreads('two', undefined, 8), { message: /positive integer/ });
});

test('selecting the native backend reports its libraries and threads; forcing an unknown one fails', async (t) => {
  const choice = await selectBackend('native', { threads: 2 });
  t.is(choice.name, 'native');
  t.regex(choice.reason, /^oneDNN \d+\.\d+\.\d+, OpenBLAS \S+ \(\S+\), 2 threads from the option$/);
  await t.throwsAsync(() => selectBackend('no-such-backend'), { message: /unknown backend "no-such-backend"/ });
  // The default picks native first.
  t.is((await selectBackend(undefined, { threads: 1 })).name, 'native');
});

test('a worker without the native build falls back to wasm and says why in one line', async (t) => {
  const { spawn } = await import('node:child_process');
  const main = new URL('../src/main.ts', import.meta.url).pathname;
  // The worker prints its backend line first, then retries a coordinator that is not there.
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--coordinator', '127.0.0.1:1'], {
    env: { ...process.env, SYNCLINE_NATIVE_ADDON: '/nonexistent/syncline-native.node', SYNCLINE_LOG_PRETTY: '1', SYNCLINE_BACKEND: '', SYNCLINE_WORKER_TOKEN: 'a-worker-credential-of-at-least-32-characters' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const found = out.split('\n').find((l) => l.includes(': backend '));
        if (found) resolve(found);
      });
      child.on('exit', () => reject(new Error(`worker exited before naming its backend: ${out}`)));
    });
    // On a machine without a GPU the reason says why webgpu was not chosen either.
    t.regex(line, /backend wasm \(one thread, with Syncline training kernels; (not webgpu: .*; )?not native: the native addon is not built: no \/nonexistent\/syncline-native\.node/);
  } finally {
    child.kill('SIGKILL');
  }
});
