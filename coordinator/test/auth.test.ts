// Authentication and authorization against a real nats-server and coordinator over gRPC sockets:
// every JobService RPC refuses a call without a credential, with a revoked one and with too small
// a role; Join refuses a worker without the worker credential; users see and change only their
// own jobs; a model name belongs to its first user; ListJobs pages; quotas and caps; tokens are
// stored hashed; the registry serves only published files, and private models only with a token.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import anyTest, { type TestFn } from 'ava';
import { BUCKETS, DatasetUploadHeader, jobBucket, JobSpec, TokenRole, WorkerHello, WorkerServiceClient, withBearer, type Job, type JobServiceClient, type JobServiceServer, type JoinResponse } from '@syncline/proto';
import { JOB_SERVICE_POLICY } from '../src/auth/policy.js';
import type { Role } from '../src/auth/roles.js';
import { tokenDigest } from '../src/auth/secrets.js';
import { jobIdOf, mnistMlpSpec, publish, startFixture, submit, type Fixture } from './helpers/cluster.js';

interface Tokens {
  user: string;
  other: string;
  reader: string;
  revoked: string;
}
const test = anyTest as TestFn<{ fx: Fixture; tokens: Tokens }>;

const unary = (start: (callback: (err: ServiceError | null) => void) => void) => new Promise<ServiceError | null>((resolve) => start((err) => resolve(err)));

async function createToken(client: JobServiceClient, name: string, role: TokenRole): Promise<string> {
  const res = await new Promise<{ token: string }>((resolve, reject) => client.createToken({ name, role }, (err, r) => (err ? reject(err) : resolve(r))));
  return res.token;
}

/** One call of every RPC, answering with its error (null when it succeeded). A new RPC does not compile until it is here. */
const CALLS: { [K in keyof JobServiceServer]: (c: JobServiceClient) => Promise<ServiceError | null> } = {
  submitJob: (c) => unary((cb) => c.submitJob({ spec: { ...mnistMlpSpec(), name: 'probe' } }, cb)),
  validateJob: (c) => unary((cb) => c.validateJob({ spec: { ...mnistMlpSpec(), name: 'probe-validate' } }, cb)),
  getJob: (c) => unary((cb) => c.getJob({ jobId: 'job-none' }, cb)),
  listJobs: (c) => unary((cb) => c.listJobs({ pageSize: 0, pageToken: '' }, cb)),
  cancelJob: (c) => unary((cb) => c.cancelJob({ jobId: 'job-none' }, cb)),
  watchJob: (c) =>
    new Promise((resolve) => {
      const stream = c.watchJob({ jobId: 'job-none' });
      stream.on('data', () => {
        resolve(null);
        stream.cancel();
      });
      stream.on('error', (err: ServiceError) => resolve(err.code === status.CANCELLED ? null : err));
      stream.on('end', () => resolve(null));
    }),
  listModels: (c) => unary((cb) => c.listModels({}, cb)),
  getTimeline: (c) => unary((cb) => c.getTimeline({ jobId: 'job-none' }, cb)),
  uploadDataset: (c) =>
    unary((cb) => {
      const call = c.uploadDataset(cb);
      call.write({ part: { $case: 'header', value: DatasetUploadHeader.fromPartial({ name: 'probe', format: 'csv', classes: 2 }) } });
      call.write({ part: { $case: 'chunk', value: Buffer.from('a,label\n1,0\n2,1\n3,0\n4,1\n5,0\n') } });
      call.end();
    }),
  getDatasetUpload: (c) => unary((cb) => c.getDatasetUpload({ uploadId: 'none' }, cb)),
  uploadModel: (c) =>
    unary((cb) => {
      const call = c.uploadModel(cb);
      call.write({ part: { $case: 'header', value: { name: 'probe-upload' } } });
      call.end();
    }),
  listDatasets: (c) => unary((cb) => c.listDatasets({}, cb)),
  getJobLog: (c) => unary((cb) => c.getJobLog({ jobId: 'job-none', includeMetrics: false }, cb)),
  deleteJob: (c) => unary((cb) => c.deleteJob({ jobId: 'job-none' }, cb)),
  deleteModel: (c) => unary((cb) => c.deleteModel({ name: 'none' }, cb)),
  deleteDataset: (c) => unary((cb) => c.deleteDataset({ name: 'none' }, cb)),
  createToken: (c) => unary((cb) => c.createToken({ name: `probe-${Math.random().toString(36).slice(2)}`, role: TokenRole.TOKEN_ROLE_READER }, cb)),
  listTokens: (c) => unary((cb) => c.listTokens({}, cb)),
  revokeToken: (c) => unary((cb) => c.revokeToken({ token: 'none' }, cb)),
};

test.before(async (t) => {
  const fx = await startFixture({ limits: { maxConcurrentJobsPerUser: 3, maxWorkersPerUser: 7, maxLayers: 4, maxParameters: 200_000, maxTotalSteps: 1000, maxMessageBytes: 64 * 1024 } });
  const admin = fx.client;
  const tokens: Tokens = {
    user: await createToken(admin, 'alice', TokenRole.TOKEN_ROLE_USER),
    other: await createToken(admin, 'bob', TokenRole.TOKEN_ROLE_USER),
    reader: await createToken(admin, 'watcher', TokenRole.TOKEN_ROLE_READER),
    revoked: await createToken(admin, 'gone', TokenRole.TOKEN_ROLE_ADMIN),
  };
  await unary((cb) => admin.revokeToken({ token: 'gone' }, cb));
  t.context = { fx, tokens };
});
test.after.always(async (t) => {
  await t.context.fx?.stop();
});

/** A token whose role is just below what `least` needs (the worker credential is below reader). */
function tooSmall(t: { context: { fx: Fixture; tokens: Tokens } }, least: Role): { token: string; role: string } {
  if (least === 'admin') return { token: t.context.tokens.user, role: 'user' };
  if (least === 'user') return { token: t.context.tokens.reader, role: 'reader' };
  return { token: t.context.fx.secrets.workerToken, role: 'worker' };
}

for (const [method, call] of Object.entries(CALLS) as [keyof JobServiceServer, (c: JobServiceClient) => Promise<ServiceError | null>][]) {
  test(`${method}: no credential, a bad or revoked one → UNAUTHENTICATED; too small a role → PERMISSION_DENIED`, async (t) => {
    const { fx, tokens } = t.context;
    const none = await call(fx.clientWith(undefined));
    t.is(none?.code, status.UNAUTHENTICATED);
    t.regex(none!.details, /no credential: send a token in the authorization metadata/);
    const bad = await call(fx.clientWith('syncline_not-a-token-of-this-cluster-at-all'));
    t.is(bad?.code, status.UNAUTHENTICATED);
    t.regex(bad!.details, /not valid for this cluster/);
    const revoked = await call(fx.clientWith(tokens.revoked));
    t.is(revoked?.code, status.UNAUTHENTICATED);
    t.regex(revoked!.details, /the token "gone" was revoked at .*; ask an admin for a new one/);
    const least = JOB_SERVICE_POLICY[method] as Role;
    const small = tooSmall(t, least);
    const denied = await call(fx.clientWith(small.token));
    t.is(denied?.code, status.PERMISSION_DENIED, denied?.details);
    t.regex(denied!.details, new RegExp(`^${method} needs .*; the token "\\S+" is a ${small.role} token$`));
    // The role it needs gets through the guard (to the handler's own answer).
    const enough = least === 'admin' ? fx.secrets.adminToken : least === 'user' ? tokens.user : tokens.reader;
    const passed = await call(fx.clientWith(enough));
    t.false(passed?.code === status.UNAUTHENTICATED || passed?.code === status.PERMISSION_DENIED, passed?.details);
  });
}

test('Join: without the worker credential the stream is refused; a user token is not one; the worker credential is welcomed', async (t) => {
  const { fx, tokens } = t.context;
  const join = (token: string | undefined) =>
    new Promise<ServiceError | JoinResponse>((resolve) => {
      const client = new WorkerServiceClient(fx.coordinator.grpcAddress, credentials.createInsecure(), withBearer(token));
      const stream = client.join();
      stream.on('data', (res: JoinResponse) => {
        resolve(res);
        stream.cancel();
        client.close();
      });
      stream.on('error', (err: ServiceError) => {
        resolve(err);
        client.close();
      });
      stream.write({ msg: { $case: 'hello', value: WorkerHello.fromPartial({ workerId: 'fake', hostname: 'h', backend: 'cpu', pid: 1 }) } });
    });
  const none = (await join(undefined)) as ServiceError;
  t.is(none.code, status.UNAUTHENTICATED);
  const user = (await join(tokens.user)) as ServiceError;
  t.is(user.code, status.PERMISSION_DENIED);
  t.regex(user.details, /join needs the worker credential; the token "alice" is a user token/);
  const admin = (await join(fx.secrets.adminToken)) as ServiceError;
  t.is(admin.code, status.PERMISSION_DENIED, 'not even an admin token joins as a worker');
  t.is(fx.coordinator.workerCount(), 0, 'nobody joined');
  const welcomed = (await join(fx.secrets.workerToken)) as JoinResponse;
  t.is(welcomed.msg?.$case, 'welcome');
});

test('tokens are stored as their sha256 only, listed without secrets, unique by name, revoked at once', async (t) => {
  const { fx } = t.context;
  const token = await createToken(fx.client, 'ci', TokenRole.TOKEN_ROLE_USER);
  t.regex(token, /^syncline_[A-Za-z0-9_-]{43}$/);
  const kv = await fx.coordinator.nc.jetstream().views.kv(BUCKETS.tokens);
  const stored = new TextDecoder().decode((await kv.get(tokenDigest(token).slice(0, 16)))!.value);
  t.false(stored.includes(token.slice('syncline_'.length)), 'the secret is not stored');
  t.true(stored.includes(tokenDigest(token)));
  const again = await unary((cb) => fx.client.createToken({ name: 'ci', role: TokenRole.TOKEN_ROLE_USER }, cb));
  t.is(again?.code, status.ALREADY_EXISTS);
  const list = await new Promise<string>((resolve) => fx.client.listTokens({}, (_e, r) => resolve(JSON.stringify(r))));
  t.false(list.includes(token), 'listing never shows a token');
  t.regex(list, /"name":"ci"/);
  t.is(await CALLS.listJobs(fx.clientWith(token)), null);
  await unary((cb) => fx.client.revokeToken({ token: 'ci' }, cb));
  t.is((await CALLS.listJobs(fx.clientWith(token)))?.code, status.UNAUTHENTICATED, 'refused at once after the revocation');
  const worker = await unary((cb) => fx.client.createToken({ name: 'w', role: TokenRole.TOKEN_ROLE_WORKER }, cb));
  t.is(worker?.code, status.INVALID_ARGUMENT, 'the worker credential is the cluster\'s, not made here');
});

const mlpJson = () => JobSpec.toJSON(mnistMlpSpec()) as { model: Record<string, unknown> };
const spec = (name: string, workers = 1, extra: Record<string, unknown> = {}) =>
  JobSpec.fromJSON({ ...(JobSpec.toJSON(mnistMlpSpec()) as object), name, workers: { min: workers, max: workers }, ...extra });

test.serial('users see and change only their own jobs; readers see all and change nothing; admins do everything', async (t) => {
  const { fx, tokens } = t.context;
  const alice = fx.clientWith(tokens.user);
  const bob = fx.clientWith(tokens.other);
  const reader = fx.clientWith(tokens.reader);
  const { err, jobId } = await submit(alice, spec('alices-model'));
  t.is(err, null);
  const job = await new Promise<Job>((resolve) => alice.getJob({ jobId: jobId! }, (_e, r) => resolve(r.job!)));
  t.is(job.owner, 'alice');
  const denied = await unary((cb) => bob.getJob({ jobId: jobId! }, cb));
  t.is(denied?.code, status.PERMISSION_DENIED);
  t.regex(denied!.details, /job job-\w+ belongs to another user; "bob" sees only its own/);
  t.is((await unary((cb) => bob.cancelJob({ jobId: jobId! }, cb)))?.code, status.PERMISSION_DENIED);
  t.is((await unary((cb) => bob.getJobLog({ jobId: jobId!, includeMetrics: false }, cb)))?.code, status.PERMISSION_DENIED);
  const watch = await new Promise<ServiceError>((resolve) => bob.watchJob({ jobId: jobId! }).on('error', resolve));
  t.is(watch.code, status.PERMISSION_DENIED);
  const ids = (c: JobServiceClient) => new Promise<string[]>((resolve) => c.listJobs({ pageSize: 0, pageToken: '' }, (_e, r) => resolve(r.jobs.map((j) => j.id))));
  t.false((await ids(bob)).includes(jobId!), "bob's list leaves alice's job out");
  t.true((await ids(alice)).includes(jobId!));
  t.true((await ids(reader)).includes(jobId!), 'a reader lists every job');
  t.is(await unary((cb) => reader.getJob({ jobId: jobId! }, cb)), null);
  t.is((await unary((cb) => reader.cancelJob({ jobId: jobId! }, cb)))?.code, status.PERMISSION_DENIED);
  t.is((await unary((cb) => alice.deleteJob({ jobId: jobId! }, cb)))?.code, status.FAILED_PRECONDITION, 'a job that has not ended is cancelled first');
  t.is(await unary((cb) => alice.cancelJob({ jobId: jobId! }, cb)), null);
  t.is((await unary((cb) => bob.deleteJob({ jobId: jobId! }, cb)))?.code, status.PERMISSION_DENIED);
  t.is(await unary((cb) => alice.deleteJob({ jobId: jobId! }, cb)), null);
  t.is((await unary((cb) => fx.client.getJob({ jobId: jobId! }, cb)))?.code, status.NOT_FOUND, 'deleted');
});

test.serial('a model name belongs to its first user: publishing it from another user is refused at submit time', async (t) => {
  const { fx, tokens } = t.context;
  const alice = fx.clientWith(tokens.user);
  const bob = fx.clientWith(tokens.other);
  const first = await submit(alice, spec('shared-name'));
  t.is(first.err, null);
  await unary((cb) => alice.cancelJob({ jobId: first.jobId! }, cb));
  const before = await new Promise<number>((resolve) => fx.client.listJobs({ pageSize: 0, pageToken: '' }, (_e, r) => resolve(r.jobs.length)));
  const refused = await submit(bob, spec('shared-name'));
  t.is(refused.err?.code, status.PERMISSION_DENIED);
  t.regex(refused.err!.details, /the model name "shared-name" belongs to "alice": pick another job name/);
  const checked = await unary((cb) => bob.validateJob({ spec: spec('shared-name') }, cb));
  t.is(checked?.code, status.PERMISSION_DENIED, 'ValidateJob (submit --dry-run) says so too');
  t.is(await new Promise<number>((resolve) => fx.client.listJobs({ pageSize: 0, pageToken: '' }, (_e, r) => resolve(r.jobs.length))), before, 'nothing stored');
  const again = await submit(alice, spec('shared-name'));
  t.is(again.err, null, 'its owner publishes it again');
  await unary((cb) => alice.cancelJob({ jobId: again.jobId! }, cb));
  const admin = await submit(fx.client, spec('shared-name'));
  t.is(admin.err, null, 'an admin may');
  await unary((cb) => fx.client.cancelJob({ jobId: admin.jobId! }, cb));
});

test.serial('quotas: concurrent jobs and workers per user → RESOURCE_EXHAUSTED; admins have none', async (t) => {
  const { fx, tokens } = t.context;
  const bob = fx.clientWith(tokens.other);
  const held: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await submit(bob, spec(`bob-${i}`, 2));
    t.is(r.err, null, r.err?.details);
    held.push(r.jobId!);
  }
  const fourth = await submit(bob, spec('bob-3', 1));
  t.is(fourth.err?.code, status.RESOURCE_EXHAUSTED);
  t.regex(fourth.err!.details, /"bob" has 3 jobs pending or running, the most a user may have at once \(3\)/);
  await unary((cb) => bob.cancelJob({ jobId: held.pop()! }, cb));
  const workers = await submit(bob, spec('bob-4', 4));
  t.is(workers.err?.code, status.RESOURCE_EXHAUSTED);
  t.regex(workers.err!.details, /"bob" would use 8 workers \(4 for its jobs pending or running, 4 for this one\); a user may use at most 7/);
  const ok = await submit(bob, spec('bob-5', 3));
  t.is(ok.err, null, 'within the quota once a job ended');
  held.push(ok.jobId!);
  const admin = await submit(fx.client, spec('admin-big', 8));
  t.is(admin.err, null);
  for (const jobId of [...held, admin.jobId!]) await unary((cb) => fx.client.cancelJob({ jobId }, cb));
});

test.serial('quotas hold against submissions at once: of 5 sent together, 3 are admitted and 2 refused', async (t) => {
  const { fx, tokens } = t.context;
  const bob = fx.clientWith(tokens.other);
  const results = await Promise.all([0, 1, 2, 3, 4].map((i) => submit(bob, spec(`bob-burst-${i}`, 1))));
  const admitted = results.filter((r) => r.err === null);
  const refused = results.filter((r) => r.err !== null);
  t.is(admitted.length, 3, results.map((r) => r.err?.details ?? r.jobId).join('; '));
  t.is(refused.length, 2);
  for (const r of refused) {
    t.is(r.err!.code, status.RESOURCE_EXHAUSTED);
    t.regex(r.err!.details, /"bob" has 3 jobs pending or running, the most a user may have at once \(3\)/);
  }
  for (const r of admitted) await unary((cb) => fx.client.cancelJob({ jobId: r.jobId! }, cb));
});

test('caps: layers, parameters and steps → INVALID_ARGUMENT naming the field; messages over the size limit → RESOURCE_EXHAUSTED', async (t) => {
  const { fx, tokens } = t.context;
  const alice = fx.clientWith(tokens.user);
  const dense = (units: number, activation = 'relu') => ({ dense: { units, activation } });
  const layers = await submit(alice, spec('caps', 1, { model: { ...mlpJson().model, layers: [dense(8), dense(8), dense(8), dense(8), dense(10, 'softmax')] } }));
  t.is(layers.err?.code, status.INVALID_ARGUMENT);
  t.is(layers.err!.details, 'model.layers: 5 layers; this cluster takes at most 4');
  const wide = await submit(alice, spec('caps', 1, { model: { ...mlpJson().model, layers: [dense(300), dense(10, 'softmax')] } }));
  t.is(wide.err?.code, status.INVALID_ARGUMENT);
  // 784·300 + 300 + 300·10 + 10
  t.is(wide.err!.details, 'model: 238510 parameters; this cluster takes models of at most 200000');
  const long = await submit(alice, spec('caps', 1, { training: { epochs: 200, globalBatchSize: 64, seed: 1 } }));
  t.is(long.err?.code, status.INVALID_ARGUMENT);
  t.regex(long.err!.details, /^training: the job would run 1600 steps; this cluster takes at most 1000/);
  const big = await submit(alice, spec('x'.repeat(20), 1, { dataset: { name: 'mnist', trainLimit: 512 }, communication: { algorithm: 'a'.repeat(100_000) } }));
  t.is(big.err?.code, status.RESOURCE_EXHAUSTED);
});

test.serial('ListJobs pages in submission order: every job once, and a token from elsewhere is refused', async (t) => {
  const { fx } = t.context;
  const submitted: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await submit(fx.client, spec(`paged-${i}`));
    submitted.push(r.jobId!);
    await unary((cb) => fx.client.cancelJob({ jobId: r.jobId! }, cb));
  }
  const all: string[] = [];
  let pageToken = '';
  let pages = 0;
  do {
    const page = await new Promise<{ jobs: Job[]; nextPageToken: string }>((resolve, reject) => fx.client.listJobs({ pageSize: 2, pageToken }, (e, r) => (e ? reject(e) : resolve(r))));
    t.true(page.jobs.length <= 2);
    all.push(...page.jobs.map((j) => j.id));
    pageToken = page.nextPageToken;
    pages++;
  } while (pageToken);
  t.is(new Set(all).size, all.length, 'no job twice');
  t.deepEqual(all.filter((id) => submitted.includes(id)), submitted, 'every job, oldest first');
  t.is(pages, Math.ceil(all.length / 2));
  const bad = await unary((cb) => fx.client.listJobs({ pageSize: 2, pageToken: 'not a token' }, cb));
  t.is(bad?.code, status.INVALID_ARGUMENT);
  const huge = await unary((cb) => fx.client.listJobs({ pageSize: 5000, pageToken: '' }, cb));
  t.is(huge?.code, status.INVALID_ARGUMENT);
});

test.serial('the registry serves only published files: not the training state that shares their prefix', async (t) => {
  const { fx } = t.context;
  const prefix = 'jobs/job-published/g1';
  await publish(fx, 'served', prefix, Float32Array.from({ length: 16 }, (_, i) => i));
  const store = await fx.coordinator.nc.jetstream().views.os(jobBucket(jobIdOf(prefix)));
  // Rank 0's generation-start state lives at <prefix>/start; a checkpoint elsewhere in the job.
  await store.putBlob({ name: `${prefix}/start` }, new TextEncoder().encode('optimizer state'));
  await store.putBlob({ name: `${prefix}/checkpoint` }, new TextEncoder().encode('weights'));
  const base = `${fx.coordinator.httpUrl}/v1/models/served/1`;
  t.is((await fetch(`${base}/model.json`)).status, 200);
  t.is((await fetch(`${base}/group1-shard1of1.bin`)).status, 200);
  for (const file of ['start', 'checkpoint']) {
    const res = await fetch(`${base}/${file}`);
    t.is(res.status, 404, file);
    t.regex(((await res.json()) as { error: string }).error, new RegExp(`served@1 has no file ${file}`));
  }
  t.is((await fetch(`${base}/float16/start`)).status, 404, 'nor through a variant');
});

test.serial('a private model is served and listed only to requests with a token; a public one to anyone', async (t) => {
  const { fx, tokens } = t.context;
  const alice = fx.clientWith(tokens.user);
  const submitted = await submit(alice, spec('secret-model', 1, { visibility: 'private' }));
  t.is(submitted.err, null);
  await unary((cb) => alice.cancelJob({ jobId: submitted.jobId! }, cb));
  await publish(fx, 'secret-model', 'jobs/job-secret/g1', Float32Array.from({ length: 16 }, (_, i) => -i));
  const url = `${fx.coordinator.httpUrl}/v1/models/secret-model/1/model.json`;
  const anonymous = await fetch(url);
  t.is(anonymous.status, 401);
  t.regex(((await anonymous.json()) as { error: string }).error, /no credential/);
  t.is((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  t.is((await fetch(url, { headers: { authorization: `Bearer ${fx.secrets.workerToken}` } })).status, 401, 'not with the worker credential');
  const withToken = await fetch(url, { headers: { authorization: `Bearer ${tokens.reader}` } });
  t.is(withToken.status, 200);
  t.regex(withToken.headers.get('cache-control')!, /^private/);
  const names = async (headers: Record<string, string>) =>
    ((await (await fetch(`${fx.coordinator.httpUrl}/v1/models`, { headers })).json()) as { models: { name: string }[] }).models.map((m) => m.name);
  t.false((await names({})).includes('secret-model'));
  t.true((await names({ authorization: `Bearer ${tokens.reader}` })).includes('secret-model'));
  // Made public by its owner's next job.
  const opened = await submit(alice, spec('secret-model', 1, { visibility: 'public' }));
  t.is(opened.err, null);
  await unary((cb) => alice.cancelJob({ jobId: opened.jobId! }, cb));
  t.is((await fetch(url)).status, 200);
  // Deleted by its owner only.
  t.is((await unary((cb) => fx.clientWith(tokens.other).deleteModel({ name: 'secret-model' }, cb)))?.code, status.PERMISSION_DENIED);
  t.is(await unary((cb) => alice.deleteModel({ name: 'secret-model' }, cb)), null);
  t.is((await fetch(url)).status, 404);
});

test.serial('datasets record their uploader, who (or an admin) may delete them', async (t) => {
  const { fx, tokens } = t.context;
  const alice = fx.clientWith(tokens.user);
  const upload = await unary((cb) => {
    const call = alice.uploadDataset(cb);
    call.write({ part: { $case: 'header', value: DatasetUploadHeader.fromPartial({ name: 'alice-points', format: 'csv', classes: 2 }) } });
    call.write({ part: { $case: 'chunk', value: Buffer.from('a,label\n1,0\n2,1\n3,0\n4,1\n5,0\n') } });
    call.end();
  });
  t.is(upload, null);
  const listed = await new Promise<{ name: string; owner: string }[]>((resolve) => fx.client.listDatasets({}, (_e, r) => resolve(r.datasets)));
  t.is(listed.find((d) => d.name === 'alice-points')?.owner, 'alice');
  t.is((await unary((cb) => fx.clientWith(tokens.other).deleteDataset({ name: 'alice-points' }, cb)))?.code, status.PERMISSION_DENIED);
  t.is(await unary((cb) => alice.deleteDataset({ name: 'alice-points' }, cb)), null);
  t.is((await unary((cb) => alice.deleteDataset({ name: 'alice-points' }, cb)))?.code, status.NOT_FOUND);
});
