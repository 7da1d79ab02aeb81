// Test helpers for running the real `syncline` command and checking on the processes it starts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeConfig, type ClientConfig } from '../../src/config.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(repoRoot, 'cli', 'bin', 'syncline.js');

// The command's own settings come from flags only, never from the environment running the tests;
// its home folders (where `syncline up` keeps its secrets and writes the default config file,
// which every command then reads, as a user's would) are this test process's own.
const home = mkdtempSync(join(tmpdir(), 'syncline-cli-home-'));
process.once('exit', () => rmSync(home, { recursive: true, force: true }));
export const testHome = { config: join(home, 'config'), state: join(home, 'state') };

/** Writes the config file a cluster's commands read by default, as `syncline up` does for its own. */
export async function writeDefaultConfig(config: ClientConfig): Promise<void> {
  await writeConfig(join(testHome.config, 'syncline', 'config.json'), config);
}

function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('SYNCLINE_') && key !== 'SYNCLINE_NATS_SERVER') delete env[key];
  return { ...env, XDG_CONFIG_HOME: testHome.config, XDG_STATE_HOME: testHome.state };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `syncline <args>` to its end; `env` adds to the cleaned environment. */
export function runCli(args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...cliEnv(), ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A worker process joining `coordinator` as `id` with the worker credential `token`; with an IPC channel, so it exits with the test. */
export function spawnWorker(coordinator: string, id: string, token: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'worker', 'src', 'main.ts'), '--coordinator', coordinator], {
    cwd: repoRoot,
    env: { ...cliEnv(), SYNCLINE_WORKER_ID: id, SYNCLINE_WORKER_TOKEN: token },
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
}

/** A `syncline <args>` process left running, its output collected as it comes. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in stdout or stderr; rejects on exit or timeout. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...cliEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    async waitFor(stream, pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let done = false;
      void exited.then(() => (done = true));
      for (;;) {
        const m = pattern.exec(out[stream]);
        if (m) return m;
        if (done) throw new Error(`syncline ${args.join(' ')} exited before printing ${pattern}:\n${out.stdout}\n${out.stderr}`);
        if (Date.now() > deadline) throw new Error(`syncline ${args.join(' ')} did not print ${pattern} within ${timeoutMs} ms:\n${out.stderr}`);
        await sleep(50);
      }
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids and command names of the direct children of `pid`. */
export async function childProcesses(pid: number): Promise<{ pid: number; command: string }[]> {
  const { stdout } = await promisify(execFile)('ps', ['-A', '-o', 'pid=,ppid=,comm=']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => Number(f[1]) === pid)
    .map((f) => ({ pid: Number(f[0]), command: f.slice(2).join(' ') }));
}

/** Polls `check` until it returns true; throws after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A small MNIST job as a proto3 JSON object (the job file format). */
export function jobJson(name: string, training: { epochs?: number; maxSteps?: number } = {}, workers = 2): Record<string, unknown> {
  return {
    name,
    model: {
      layers: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } },
    },
    dataset: { name: 'mnist', trainLimit: 1024 },
    training: { epochs: training.epochs ?? 1, globalBatchSize: 64, seed: 3, ...(training.maxSteps ? { maxSteps: training.maxSteps } : {}) },
    workers: { min: workers, max: workers },
  };
}
