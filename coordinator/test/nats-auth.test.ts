// NATS admits only users the coordinator minted, and a worker's user reaches its own job alone:
// checked against a real nats-server, with the credentials an assignment carries.
import anyTest, { type TestFn } from 'ava';
import { BUCKETS, Job, datasetBucket, jobBucket, type NatsCredentials } from '@syncline/proto';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import { connect, jwtAuthenticator, type NatsConnection } from 'nats';
import { JobNatsAccess, NatsAccountKeyError, NatsCredentialIssuer, createNatsTrust, parseNatsAccountKey } from '../src/nats-auth/index.js';
import { ensureObjectBucket } from '../src/store/buckets.js';

const test = anyTest as TestFn<{ nats: NatsServer; admin: NatsConnection; issuer: NatsCredentialIssuer; open: NatsConnection[] }>;

const bytes = (text: string) => new TextEncoder().encode(text);

async function as(t: { context: { nats: NatsServer; open: NatsConnection[] } }, creds: NatsCredentials): Promise<NatsConnection> {
  const nc = await connect({
    servers: t.context.nats.url,
    authenticator: jwtAuthenticator(creds.jwt, bytes(creds.seed)),
    ...(creds.inboxPrefix ? { inboxPrefix: creds.inboxPrefix } : {}),
    reconnect: false,
  });
  t.context.open.push(nc);
  return nc;
}

/** The server's next permission error on `nc`, as "<operation> <subject>" (nats.js reports them asynchronously, as status). */
async function permissionError(nc: NatsConnection): Promise<string> {
  for await (const s of nc.status()) {
    if (s.type === 'error' && s.permissionContext) return `${s.permissionContext.operation} ${s.permissionContext.subject}`;
  }
  return '';
}

test.before(async (t) => {
  const nats = await startNatsServer();
  const issuer = new NatsCredentialIssuer(nats.accountKey);
  const open: NatsConnection[] = [];
  t.context = { nats, issuer, open, admin: await as({ context: { nats, open } }, await issuer.coordinator()) };
  // What the coordinator holds: two jobs' object stores, a dataset record and file.
  for (const job of ['job-a', 'job-b']) {
    await ensureObjectBucket(t.context.admin, jobBucket(job), 1);
    await (await t.context.admin.jetstream().views.os(jobBucket(job))).putBlob({ name: `jobs/${job}/checkpoint` }, bytes(`${job} state`));
  }
  const records = await t.context.admin.jetstream().views.kv(BUCKETS.datasets, { history: 1 });
  for (const name of ['mine', 'theirs']) {
    await records.put(name, bytes(JSON.stringify({ name })));
    await (await t.context.admin.jetstream().views.os(datasetBucket(name))).putBlob({ name: `datasets/${name}.synt` }, bytes(`${name} rows`));
  }
});

test.after.always(async (t) => {
  for (const nc of t.context.open ?? []) await nc.close().catch(() => undefined);
  await t.context.nats?.stop();
});

test('a client without credentials cannot connect', async (t) => {
  const err = await t.throwsAsync(connect({ servers: t.context.nats.url, reconnect: false }));
  t.regex(String(err?.message), /authorization violation/i);
});

test('a user signed by another account key cannot connect', async (t) => {
  const stranger = new NatsCredentialIssuer((await createNatsTrust()).accountKey);
  const err = await t.throwsAsync(as(t, await stranger.coordinator()));
  t.regex(String(err?.message), /authorization violation/i);
});

test('expired worker credentials cannot connect', async (t) => {
  const creds = await new NatsCredentialIssuer(t.context.nats.accountKey, { workerTtlSeconds: -60 }).worker({ jobId: 'job-a' });
  const err = await t.throwsAsync(as(t, creds));
  t.regex(String(err?.message), /authorization violation|expired/i);
});

test("a worker of job A exchanges A's all-reduce traffic and uses A's objects", async (t) => {
  const [one, two] = await Promise.all([t.context.issuer.worker({ jobId: 'job-a' }), t.context.issuer.worker({ jobId: 'job-a' })]);
  const [rank0, rank1] = [await as(t, one!), await as(t, two!)];
  const sub = rank1.subscribe('syncline.allreduce.job-a.1.to.1', { max: 1 });
  await rank1.flush();
  rank0.publish('syncline.allreduce.job-a.1.to.1', bytes('frame'));
  for await (const m of sub) t.is(new TextDecoder().decode(m.data), 'frame');

  const store = await rank0.jetstream().views.os(jobBucket('job-a'));
  t.is(new TextDecoder().decode((await store.getBlob('jobs/job-a/checkpoint'))!), 'job-a state');
  await store.putBlob({ name: 'jobs/job-a/g1/model.json' }, bytes('{}'));
  await store.putBlob({ name: 'jobs/job-a/checkpoint' }, bytes('newer state'));
  const seen = await (await t.context.admin.jetstream().views.os(jobBucket('job-a'))).getBlob('jobs/job-a/checkpoint');
  t.is(new TextDecoder().decode(seen!), 'newer state');
});

test("a worker of job A cannot publish into job B's subjects nor subscribe to them", async (t) => {
  const worker = await as(t, await t.context.issuer.worker({ jobId: 'job-a' }));
  const peerOfB = await as(t, await t.context.issuer.worker({ jobId: 'job-b' }));
  const received: string[] = [];
  const sub = peerOfB.subscribe('syncline.allreduce.job-b.>', { callback: (_err, m) => received.push(m.subject) });
  await peerOfB.flush();

  const refused = permissionError(worker);
  worker.publish('syncline.allreduce.job-b.1.to.0', bytes('injected gradient'));
  t.is(await refused, 'publish syncline.allreduce.job-b.1.to.0');

  const refusedSub = permissionError(worker);
  worker.subscribe('syncline.allreduce.job-b.>');
  t.is(await refusedSub, 'subscription syncline.allreduce.job-b.>');
  // Nor through a wildcard over every job.
  const refusedWild = permissionError(worker);
  worker.subscribe('syncline.allreduce.>');
  t.is(await refusedWild, 'subscription syncline.allreduce.>');

  // The injected frame never reached job B's rank.
  await worker.flush();
  await peerOfB.flush();
  t.deepEqual(received, []);
  sub.unsubscribe();
});

test("a worker of job A can neither read nor write job B's objects", async (t) => {
  const worker = await as(t, await t.context.issuer.worker({ jobId: 'job-a' }));
  const err = await t.throwsAsync(async () => {
    const store = await worker.jetstream().views.os(jobBucket('job-b'));
    await store.getBlob('jobs/job-b/checkpoint');
  });
  t.regex(String(err?.message), /permissions violation/i);
  // Raw writes into B's object stream are refused, and B's object is untouched.
  const refused = permissionError(worker);
  worker.publish(`$O.${jobBucket('job-b')}.M.anything`, bytes('{}'));
  t.is(await refused, `publish $O.${jobBucket('job-b')}.M.anything`);
  const kept = await (await t.context.admin.jetstream().views.os(jobBucket('job-b'))).getBlob('jobs/job-b/checkpoint');
  t.is(new TextDecoder().decode(kept!), 'job-b state');
  // Nor can it read the coordinator's buckets (job records, models) or delete a stream.
  await t.throwsAsync(async () => (await worker.jetstream().views.kv(BUCKETS.jobs)).get('job-b'), { message: /permissions violation/i });
  await t.throwsAsync(worker.jetstreamManager().then((m) => m.streams.delete(`OBJ_${jobBucket('job-b')}`)), { message: /permissions violation/i });
});

test('a worker reads its own dataset, not another, and writes neither', async (t) => {
  const worker = await as(t, await t.context.issuer.worker({ jobId: 'job-a', dataset: 'mine' }));
  const records = await worker.jetstream().views.kv(BUCKETS.datasets);
  t.is((await records.get('mine'))?.string(), JSON.stringify({ name: 'mine' }));
  await t.throwsAsync(records.get('theirs'), { message: /permissions violation/i });
  const file = await worker.jetstream().views.os(datasetBucket('mine'));
  t.is(new TextDecoder().decode((await file.getBlob('datasets/mine.synt'))!), 'mine rows');
  await t.throwsAsync(file.putBlob({ name: 'datasets/mine.synt' }, bytes('poisoned')), { message: /permissions violation/i });
  await t.throwsAsync(async () => (await worker.jetstream().views.os(datasetBucket('theirs'))).getBlob('datasets/theirs.synt'), { message: /permissions violation/i });
  const kept = await (await t.context.admin.jetstream().views.os(datasetBucket('mine'))).getBlob('datasets/mine.synt');
  t.is(new TextDecoder().decode(kept!), 'mine rows');
});

test('a worker cannot subscribe to the inbox of another worker (their JetStream replies)', async (t) => {
  const a = await t.context.issuer.worker({ jobId: 'job-a' });
  const b = await t.context.issuer.worker({ jobId: 'job-a' });
  t.not(a.inboxPrefix, b.inboxPrefix);
  const worker = await as(t, a);
  const refused = permissionError(worker);
  worker.subscribe(`${b.inboxPrefix}.>`);
  t.is(await refused, `subscription ${b.inboxPrefix}.>`);
});

test('account keys are checked when read', (t) => {
  t.throws(() => parseNatsAccountKey({ account: 'nope' }), { instanceOf: NatsAccountKeyError, message: /expected/ });
  t.throws(() => parseNatsAccountKey({ account: 'Anope', signingKey: 'SAnope' }), { instanceOf: NatsAccountKeyError });
  const key = t.context.nats.accountKey;
  t.deepEqual(parseNatsAccountKey(JSON.parse(JSON.stringify(key))), key);
  t.throws(() => parseNatsAccountKey({ account: key.account, signingKey: key.signingKey.replace(/^SA/, 'SU') }), { instanceOf: NatsAccountKeyError });
});

test("an assignment's credentials come with the job's object store, made for it", async (t) => {
  const access = new JobNatsAccess(t.context.admin, t.context.issuer, 1);
  const job = Job.fromPartial({ id: 'job-fresh', spec: { dataset: { name: 'mine' } } });
  const worker = await as(t, await access.forWorker(job));
  const store = await worker.jetstream().views.os(jobBucket('job-fresh'));
  await store.putBlob({ name: 'jobs/job-fresh/checkpoint' }, bytes('state'));
  t.is(new TextDecoder().decode((await store.getBlob('jobs/job-fresh/checkpoint'))!), 'state');
  t.is((await (await worker.jetstream().views.kv(BUCKETS.datasets)).get('mine'))?.string(), JSON.stringify({ name: 'mine' }));
  // A built-in dataset needs no access to any uploaded one.
  const builtin = await as(t, await access.forWorker(Job.fromPartial({ id: 'job-builtin', spec: { dataset: { name: 'mnist' } } })));
  await t.throwsAsync(async () => (await builtin.jetstream().views.kv(BUCKETS.datasets)).get('mine'), { message: /permissions violation/i });
});
