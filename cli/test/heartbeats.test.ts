// Heartbeats come from a thread of their own: a worker whose main thread computes for much longer
// than the heartbeat timeout (a long step, a large held-out evaluation) is not declared lost.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { generateSecrets, startCoordinator } from '@syncline/coordinator';
import { startNatsServer } from '../src/nats-server.js';
import { repoRoot } from './helpers/processes.js';

test('a worker busy computing for 3x the heartbeat timeout stays joined', async (t) => {
  const nats = await startNatsServer();
  const lines: string[] = [];
  const secrets = generateSecrets();
  const coordinator = await startCoordinator({ natsUrl: nats.url, natsAccountKey: nats.accountKey, secrets, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1500, log: (l) => lines.push(l) });
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'test', 'fixtures', 'busy-worker.ts'), coordinator.grpcAddress], {
      cwd: repoRoot,
      env: { ...process.env, BUSY_MS: '4500', SYNCLINE_WORKER_TOKEN: secrets.workerToken },
      timeout: 60_000,
    });
    t.regex(stdout, /busy for 4500 ms/);
    const left = lines.filter((l) => l.includes('worker left'));
    t.is(left.length, 1, lines.join('\n'));
    t.regex(left[0]!, /reason="stream ended"/, 'it left when it stopped, not for missed heartbeats');
  } finally {
    await coordinator.stop();
    await nats.stop();
  }
});
