// Riding out NATS outages: which errors are passing, retries with backoff, and server lists.
import test from 'ava';
import { backoffMs, isTransientNatsError, lineLogger, natsServers, retryTransient } from '../src/index.js';

const natsError = (message: string, code: string) => Object.assign(new Error(message), { code });

test('timeouts, no responders, disconnects and JetStream elections are transient; other errors are not', (t) => {
  t.true(isTransientNatsError(natsError('TIMEOUT', 'TIMEOUT')));
  t.true(isTransientNatsError(natsError('503', '503')));
  t.true(isTransientNatsError(Object.assign(new Error('JetStream system temporarily unavailable'), { api_error: { code: 503, description: 'JetStream system temporarily unavailable' } })));
  t.false(isTransientNatsError(natsError('wrong last sequence: 4', 'BAD API')));
  t.false(isTransientNatsError(new Error('stream not found')));
  t.false(isTransientNatsError('TIMEOUT'));
});

test('retryTransient retries passing errors with backoff and throws the others at once', async (t) => {
  let calls = 0;
  const delays: number[] = [];
  const value = await retryTransient(
    async () => {
      if (++calls < 3) throw natsError('TIMEOUT', 'TIMEOUT');
      return 'done';
    },
    { onRetry: (_err, _attempt, delayMs) => delays.push(delayMs) },
  );
  t.is(value, 'done');
  t.is(calls, 3);
  t.true(delays[0]! >= 250 && delays[1]! >= 500, `delays ${delays.join(', ')}`);
  await t.throwsAsync(retryTransient(async () => Promise.reject(new Error('bad spec'))), { message: 'bad spec' });
  await t.throwsAsync(retryTransient(async () => Promise.reject(natsError('TIMEOUT', 'TIMEOUT')), { deadlineMs: 100 }), { message: 'TIMEOUT' });
  const controller = new AbortController();
  const aborted = retryTransient(async () => Promise.reject(natsError('TIMEOUT', 'TIMEOUT')), { signal: controller.signal });
  controller.abort(new Error('job cancelled'));
  await t.throwsAsync(aborted, { message: 'job cancelled' });
  for (let attempt = 0; attempt < 12; attempt++) t.true(backoffMs(attempt) <= 6250);
});

test('server lists and log lines', (t) => {
  t.deepEqual(natsServers('nats://a:4222, nats://b:4222,,nats://c:4222'), ['nats://a:4222', 'nats://b:4222', 'nats://c:4222']);
  t.throws(() => natsServers(' , '), { instanceOf: RangeError });
  const lines: string[] = [];
  lineLogger((l) => lines.push(l)).info({ job: 'j1', rank: 0, step: undefined, reason: 'stream ended' }, 'worker lost');
  t.deepEqual(lines, ['worker lost job=j1 rank=0 reason="stream ended"']);
});
