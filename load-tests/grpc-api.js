// k6 load test of the coordinator's gRPC JobService: a ramp of clients reading jobs (ListJobs,
// GetJob, GetJob of an unknown id), a steady stream of invalid job specs that must be rejected
// with INVALID_ARGUMENT naming the field, and a low rate of tiny valid jobs.
//   k6 run load-tests/grpc-api.js                       (coordinator on 127.0.0.1:7070)
//   k6 run -e SYNCLINE_GRPC_ADDR=10.0.0.5:7070 load-tests/grpc-api.js
// Only SYNCLINE_GRPC_ADDR is contacted. Runs about 2 minutes (see load-tests/README.md).
import grpc from 'k6/net/grpc';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Rate } from 'k6/metrics';

const GRPC_ADDR = __ENV.SYNCLINE_GRPC_ADDR || '127.0.0.1:7070';
// Every call carries a token (an admin's, or a user's: its quota then caps the submissions).
const TOKEN = __ENV.SYNCLINE_TOKEN || '';
const MAX_VUS = Number(__ENV.SYNCLINE_LOAD_VUS || 20);
const HOLD = __ENV.SYNCLINE_LOAD_HOLD || '1m';
const SERVICE = 'syncline.v1.JobService';
const TINY_JOB_NAME = 'loadtest-tiny';

// Relative to this script (k6 resolves load() paths from the main module's folder).
const client = new grpc.Client();
client.load(['../proto'], 'syncline/v1/job_service.proto');

// A call that answered anything but the status it was meant to: the error rate this test gates on.
const unexpectedStatus = new Rate('unexpected_status');

export const options = {
  scenarios: {
    reads: {
      executor: 'ramping-vus',
      exec: 'reads',
      startVUs: 0,
      stages: [
        { duration: '30s', target: MAX_VUS },
        { duration: HOLD, target: MAX_VUS },
        { duration: '15s', target: 0 },
      ],
      gracefulRampDown: '10s',
    },
    rejects: {
      executor: 'constant-arrival-rate',
      exec: 'rejects',
      rate: 20,
      timeUnit: '1s',
      duration: '90s',
      preAllocatedVUs: 5,
      maxVUs: 20,
      gracefulStop: '10s',
    },
    submits: {
      executor: 'constant-arrival-rate',
      exec: 'submits',
      rate: 6,
      timeUnit: '1m',
      duration: '90s',
      preAllocatedVUs: 1,
      maxVUs: 2,
      gracefulStop: '10s',
    },
  },
  thresholds: {
    'grpc_req_duration{op:read}': ['p(95)<250', 'p(99)<750'],
    'grpc_req_duration{op:reject}': ['p(95)<100'],
    'grpc_req_duration{op:submit}': ['p(95)<500'],
    // Stop early when the server is clearly failing rather than hammering it for minutes.
    unexpected_status: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '15s' }],
    checks: ['rate>0.99'],
  },
};

/** The smallest job worth running: 4 steps of a small MLP on 256 digits, on one worker. */
function tinySpec() {
  return {
    name: TINY_JOB_NAME,
    model: {
      layers: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { sgd: { learningRate: 0.1 } },
    },
    dataset: { name: 'mnist', trainLimit: 256 },
    training: { epochs: 1, globalBatchSize: 64, seed: 1 },
    workers: { min: 1, max: 1 },
  };
}

/** Specs the coordinator must reject, each with the field path its error has to name. */
const INVALID = [
  { field: 'name', edit: (s) => { s.name = 'bad name!'; } },
  { field: 'dataset.name', edit: (s) => { s.dataset.name = 'imagenet'; } },
  { field: 'model.layers[0].dense.activation', edit: (s) => { s.model.layers[0].dense.activation = 'swish'; } },
  { field: 'model.loss', edit: (s) => { s.model.loss = 'hinge'; } },
  { field: 'training.epochs', edit: (s) => { s.training.epochs = 0; } },
  { field: 'training.globalBatchSize', edit: (s) => { s.training.globalBatchSize = 100000; } },
  { field: 'workers.max', edit: (s) => { s.workers = { min: 2, max: 1 }; } },
].map((c) => {
  const spec = tinySpec();
  c.edit(spec);
  return { field: c.field, spec };
});

let connected = false;
function connect() {
  if (!connected) {
    client.connect(GRPC_ADDR, { plaintext: true, timeout: '5s' });
    connected = true;
  }
}

function invoke(method, request, op) {
  return client.invoke(`${SERVICE}/${method}`, request, { timeout: '10s', tags: { op }, metadata: { authorization: `Bearer ${TOKEN}` } });
}

/** Records whether `res` has the expected status; returns that. */
function expectStatus(res, status) {
  const ok = res.status === status;
  unexpectedStatus.add(!ok);
  return ok;
}

function trailer(res, key) {
  const values = res.trailers && res.trailers[key];
  return values && values.length > 0 ? values[0] : undefined;
}

export function setup() {
  connect();
  if (!TOKEN) throw new Error('set SYNCLINE_TOKEN (-e SYNCLINE_TOKEN=…): the coordinator refuses calls without one; `syncline up` writes the admin token to ~/.config/syncline/config.json');
  const res = invoke('ListJobs', {}, 'setup');
  if (res.status !== grpc.StatusOK) exec.test.abort(`ListJobs on ${GRPC_ADDR} answered status ${res.status}: is the coordinator up?`);
  client.close();
  connected = false;
}

export function reads() {
  connect();
  const list = invoke('ListJobs', {}, 'read');
  const listed = expectStatus(list, grpc.StatusOK);
  check(list, { 'ListJobs: OK': () => listed });
  const jobs = listed && list.message && list.message.jobs ? list.message.jobs : [];
  if (jobs.length > 0) {
    const wanted = jobs[Math.floor(Math.random() * jobs.length)].id;
    const got = invoke('GetJob', { jobId: wanted }, 'read');
    const ok = expectStatus(got, grpc.StatusOK);
    check(got, { 'GetJob: OK with the job asked for': (r) => ok && r.message.job.id === wanted });
  }
  const missing = invoke('GetJob', { jobId: `job-missing-${exec.vu.idInTest}-${exec.vu.iterationInScenario}` }, 'read');
  const notFound = expectStatus(missing, grpc.StatusNotFound);
  check(missing, { 'GetJob of an unknown id: NOT_FOUND': () => notFound });
  sleep(0.2 + Math.random() * 0.3);
}

export function rejects() {
  connect();
  const c = INVALID[exec.scenario.iterationInTest % INVALID.length];
  const res = invoke('SubmitJob', { spec: c.spec }, 'reject');
  const rejected = expectStatus(res, grpc.StatusInvalidArgument);
  check(res, {
    'invalid spec: INVALID_ARGUMENT': () => rejected,
    'invalid spec: syncline-field trailer names the field': (r) => trailer(r, 'syncline-field') === c.field,
    'invalid spec: message starts with the field': (r) => Boolean(r.error && typeof r.error.message === 'string' && r.error.message.indexOf(c.field) === 0),
  });
}

export function submits() {
  connect();
  const res = invoke('SubmitJob', { spec: tinySpec() }, 'submit');
  const accepted = expectStatus(res, grpc.StatusOK);
  check(res, {
    'tiny job: accepted': () => accepted,
    'tiny job: stored with an id': (r) => accepted && typeof r.message.job.id === 'string' && r.message.job.id !== '',
  });
}

/** Cancels the tiny jobs that are still queued or running, so the cluster is left idle. */
export function teardown() {
  connect();
  const list = invoke('ListJobs', {}, 'teardown');
  if (list.status !== grpc.StatusOK) return;
  const open = (list.message.jobs || []).filter(
    (j) => j.spec && j.spec.name === TINY_JOB_NAME && (j.state === 'JOB_STATE_PENDING' || j.state === 'JOB_STATE_RUNNING'),
  );
  for (const job of open) invoke('CancelJob', { jobId: job.id }, 'teardown');
  if (open.length > 0) console.log(`teardown: cancelled ${open.length} unfinished ${TINY_JOB_NAME} job(s)`);
  client.close();
}
