// Exit codes and first-contact messages that need no cluster: a coordinator that is not there, a
// bad command line, a bad job file, a valid one checked offline (README: "Exit codes").
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { SynclineClient } from '../src/client.js';
import { CoordinatorUnreachableError } from '../src/errors.js';
import { jobJson, repoRoot, runCli } from './helpers/processes.js';

const test = anyTest as TestFn<{ dir: string; closedPort: number; silent: Server; silentPort: number }>;

/** A port that was free a moment ago: nothing listens there. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

test.before(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-exit-codes-'));
  t.context.closedPort = await freePort();
  // Accepts connections and never speaks gRPC (an HTTP port given by mistake, say).
  t.context.silent = createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((r) => t.context.silent.listen(0, '127.0.0.1', r));
  t.context.silentPort = (t.context.silent.address() as { port: number }).port;
});
test.after.always(async (t) => {
  t.context.silent?.close();
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

test('no coordinator: one line naming the address and what to do, exit 4, at once', async (t) => {
  const address = `127.0.0.1:${t.context.closedPort}`;
  for (const args of [['jobs'], ['models'], ['cancel', 'job-x'], ['submit', join(repoRoot, 'examples', 'mnist-mlp.json')], ['submit', '--dry-run', join(repoRoot, 'examples', 'mnist-mlp.json')]]) {
    const r = await runCli([...args, '--coordinator', address]);
    t.is(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    t.is(lines.length, 1, r.stderr);
    t.is(
      lines[0],
      `syncline: cannot reach the coordinator at ${address} (connection refused: nothing listens there): start a local cluster with \`syncline up\`, or name a running one with --coordinator host:port or SYNCLINE_COORDINATOR`,
    );
  }
});

test('a refused connection is answered at once, not after the connect deadline', async (t) => {
  // With a ten-minute deadline, only failing fast ends this before the test's own timeout.
  const client = new SynclineClient(`127.0.0.1:${t.context.closedPort}`, { connectTimeoutMs: 600_000 });
  try {
    const err = await t.throwsAsync(client.list(), { instanceOf: CoordinatorUnreachableError });
    t.regex(err!.message, /connection refused/);
  } finally {
    client.close();
  }
});

test('SYNCLINE_COORDINATOR names the address tried', async (t) => {
  const address = `127.0.0.1:${t.context.closedPort}`;
  const r = await runCli(['jobs'], 30_000, { SYNCLINE_COORDINATOR: address });
  t.is(r.code, 4, r.stderr);
  t.true(r.stderr.includes(`cannot reach the coordinator at ${address} `), r.stderr);
});

test('a port that accepts connections but is no coordinator: exit 4 after the connect deadline, saying so', async (t) => {
  const r = await runCli(['jobs', '--coordinator', `127.0.0.1:${t.context.silentPort}`]);
  t.is(r.code, 4, r.stderr);
  t.regex(r.stderr, /^syncline: cannot reach the coordinator at 127\.0\.0\.1:\d+ \(no connection within 5 s: it accepts connections but does not speak gRPC\)/);
});

test('bad command lines exit 2', async (t) => {
  const bogus = await runCli(['submit', '--bogus']);
  t.is(bogus.code, 2);
  t.regex(bogus.stderr, /unknown option '--bogus'/);
  const timeline = await runCli(['submit', join(repoRoot, 'examples', 'mnist-mlp.json'), '--timeline', 'x.json']);
  t.is(timeline.code, 2);
  t.regex(timeline.stderr, /--timeline needs --watch/);
  const missing = await runCli(['upload', join(t.context.dir, 'none.csv'), '--name', 'n', '--coordinator', `127.0.0.1:${t.context.closedPort}`]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot read .*none\.csv/);
  t.is((await runCli(['--help'])).code, 0);
});

test('a bad job file exits 3 before any connection; validate --offline checks good ones with exit 0', async (t) => {
  const bad = join(t.context.dir, 'bad.json');
  const job = jobJson('exit-bad') as { model: { layers: { dense: { units: unknown } }[] } };
  job.model.layers[0]!.dense.units = -5;
  await writeFile(bad, JSON.stringify(job, null, 2));
  // The coordinator address is never tried: the file is refused first.
  const r = await runCli(['submit', bad, '--coordinator', `127.0.0.1:${t.context.closedPort}`]);
  t.is(r.code, 3, r.stderr);
  t.is(r.stderr, `syncline: ${bad} is not a valid job file (1 problem):\n  model.layers[0].dense.units: expected a whole number from 0 to 4294967295 (uint32), found -5, which is negative (at 7:20)\n`);

  const good = join(t.context.dir, 'good.json');
  await writeFile(good, JSON.stringify(jobJson('exit-good')));
  const both = await runCli(['validate', '--offline', good, bad]);
  t.is(both.code, 3, both.stderr);
  t.is(both.stdout, `${good}: valid (checked locally)\n`);
  const one = await runCli(['validate', '--offline', good]);
  t.is(one.code, 0, one.stderr);
  t.is(one.stderr, '');
  // Without --offline and with no coordinator: checked locally, and said so on stderr.
  const fallback = await runCli(['validate', good, '--coordinator', `127.0.0.1:${t.context.closedPort}`]);
  t.is(fallback.code, 0, fallback.stderr);
  t.regex(fallback.stderr, /^syncline: cannot reach the coordinator at 127\.0\.0\.1:\d+ \(connection refused: nothing listens there\); checking without it\n$/);
});
