// The dashboard in headless Chromium on a real local cluster (nats-server, coordinator, worker
// processes), with security on as `syncline up` runs it and a reader token: the page asks for the token and keeps it for the session;
// then it watches a job from submission to success — the loss curve grows, held-out points
// come at epoch ends, a third worker joins and the membership change is marked, the state turns
// to succeeded — and shows the
// workers, the published model (variants, snippet, the drawing demo) and the datasets.
// Screenshots at desktop and phone sizes go to docs/dashboard/.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { chromium, devices, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { JobSpec, JobState, TokenRole } from '@syncline/proto';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';
import { repoRoot } from './helpers/processes.js';

const CHROMIUM = process.env.SYNCLINE_CHROMIUM ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** A reader token made through the API, as an admin would make one for a dashboard. */
let TOKEN = '';
const SHOTS = join(repoRoot, 'docs', 'dashboard');

interface Context {
  cluster: LocalCluster;
  client: SynclineClient;
  browser: Browser;
  errors: string[];
}
/** The job the second test watched, which the phone test shows. */
let watchedJob: string | undefined;
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set SYNCLINE_CHROMIUM`);
  // The models page's try-it panel runs the SDK's browser bundle.
  execFileSync(process.execPath, [join(repoRoot, 'sdk', 'scripts', 'build.mjs')], { stdio: 'inherit' });
  const [cluster, browser] = await Promise.all([
    startLocalCluster({ workers: 2 }),
    chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS }),
  ]);
  t.context = { cluster, browser, client: new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken }), errors: [] };
  TOKEN = (await t.context.client.createToken('dashboard', TokenRole.TOKEN_ROLE_READER)).token;
  await mkdir(SHOTS, { recursive: true });
});

test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.browser?.close();
  await t.context.cluster?.stop();
});

async function newPage(t: ExecutionContext<Context>, context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => t.context.errors.push(error.message));
  return page;
}

const spec = () =>
  JobSpec.fromJSON({
    name: 'dashboard-mlp',
    model: {
      layers: [{ dense: { units: 32, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } },
    },
    dataset: { name: 'mnist', trainLimit: 4096 },
    training: { epochs: 12, globalBatchSize: 64, seed: 7, timeline: true },
    workers: { min: 2, max: 3 },
  });

test.serial('without a token the API refuses and the page asks for one', async (t) => {
  const base = t.context.cluster.coordinator.httpUrl;
  t.is((await fetch(`${base}/api/jobs`)).status, 401);
  t.is((await fetch(`${base}/api/jobs`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  t.is((await fetch(`${base}/api/jobs`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  t.is((await fetch(`${base}/api/jobs?access_token=${TOKEN}`)).status, 200, 'or as a query parameter');
  // The dashboard shows every user's jobs: a user token, which sees only its own, is refused.
  const user = (await t.context.client.createToken('dashboard-user', TokenRole.TOKEN_ROLE_USER)).token;
  t.is((await fetch(`${base}/api/jobs`, { headers: { authorization: `Bearer ${user}` } })).status, 401);
  t.is((await fetch(`${base}/v1/models`)).status, 200, 'the registry stays open to SDK clients');
  const context = await t.context.browser.newContext();
  t.teardown(() => context.close());
  const page = await newPage(t, context);
  await page.goto(base);
  await page.waitForSelector('#token-dialog[open]');
  t.is(await page.textContent('#live'), 'token needed');
});

test.serial('a job is watched from submission to success: state, growing curves, a membership change', async (t) => {
  const { browser, cluster, client } = t.context;
  const base = cluster.coordinator.httpUrl;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => context.close());
  const page = await newPage(t, context);
  await page.goto(base);
  await page.fill('#token-input', TOKEN);
  await page.click('#token-save');
  await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live');
  t.is(await page.evaluate(() => sessionStorage.getItem('syncline.token')), TOKEN, 'kept for the session');

  const job = await client.submit(spec());
  watchedJob = job.id;
  // The list shows it at once, from the live stream.
  await page.waitForSelector(`[data-job="${job.id}"]`);
  await page.goto(`${base}/#/jobs/${job.id}`);
  await page.waitForSelector('body[data-ready="jobs"] .chart-panel');
  const states = new Set<string>();
  const watch = setInterval(() => {
    void page
      .textContent('.job-header .badge')
      .then((s) => s && states.add(s))
      .catch(() => undefined);
  }, 100);
  t.teardown(() => clearInterval(watch));
  const points = () => page.evaluate(() => Number(document.querySelector<HTMLElement>('.chart-panel')?.dataset.points ?? 0));
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('.chart-panel')?.dataset.points ?? 0) >= 5, undefined, { timeout: 60_000 });
  const early = await points();
  // A third worker joins the running job: a new generation, marked on the curves.
  await cluster.addWorker();
  const final = await client.watch(job.id);
  t.is(final.state, JobState.JOB_STATE_SUCCEEDED, final.error);
  await page.waitForFunction(() => document.querySelector('.job-header .badge')?.textContent === 'succeeded', undefined, { timeout: 15_000 });
  await page.waitForSelector('#final-metrics');
  clearInterval(watch);
  // The poll is asynchronous and may not have landed since the badge changed: read it once more.
  const lastBadge = await page.textContent('.job-header .badge');
  if (lastBadge) states.add(lastBadge);
  const late = await points();
  // Held-out evaluations come at epoch ends (64 steps), one each, and the chart shows each one
  // and the final evaluation. (A step reported by a generation just superseded is dropped by the
  // coordinator, so an epoch end right at the membership change may have none.)
  const api = await (await fetch(`${base}/api/jobs/${job.id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  const heldoutSteps: number[] = api.log.filter((e: { metrics?: { heldoutExamples?: number } }) => e.metrics?.heldoutExamples).map((e: { metrics: { step: number } }) => e.metrics.step);
  t.deepEqual(heldoutSteps, [...new Set(heldoutSteps)].sort((a, b) => a - b), 'one evaluation per epoch end, in order');
  t.true(heldoutSteps.every((s) => s % 64 === 0 && s < 768), heldoutSteps.join(' '));
  t.true(heldoutSteps.length >= 9, `${heldoutSteps.length} of 11 epoch ends evaluated`);
  const heldout = await page.evaluate(() => Number(document.querySelectorAll<HTMLElement>('.chart-panel')[1]?.dataset.heldout ?? 0));
  t.is(heldout, heldoutSteps.length + 1, 'the chart shows each evaluation and the final one');
  t.true(late > early, `the curve grew from ${early} to ${late} points`);
  t.true(states.has('running') && states.has('succeeded'), `states seen: ${[...states].join(', ')}`);
  t.true(final.membershipChanges >= 1, 'the third worker joined before the end');
  const log = await page.textContent('#job-log');
  t.regex(log ?? '', /running on 2 workers/);
  t.regex(log ?? '', /generation 2 on 3 workers/);
  t.regex(log ?? '', /succeeded after \d+ steps/);
  t.regex((await page.textContent('#job-model')) ?? '', /dashboard-mlp v1/);
  // The final held-out accuracy, as the job record has it.
  t.regex((await page.textContent('#final-metrics')) ?? '', new RegExp(final.result!.accuracy.toPrecision(4)));
  await page.waitForSelector('.timeline .span', { timeout: 15_000 });
  await page.screenshot({ path: join(SHOTS, 'job-desktop.png'), fullPage: true });

  await page.goto(`${base}/#/jobs`);
  await page.waitForSelector(`[data-job="${job.id}"][data-state="succeeded"]`);
  await page.screenshot({ path: join(SHOTS, 'jobs-desktop.png') });

  await page.goto(`${base}/#/workers`);
  await page.waitForSelector('#workers tbody tr');
  t.is(await page.locator('#workers tbody tr').count(), 3);
  t.regex((await page.textContent('#workers')) ?? '', /wasm|cpu|tensorflow|native/);

  await page.goto(`${base}/#/datasets`);
  await page.waitForSelector('#datasets');
  t.regex((await page.textContent('#datasets')) ?? '', /mnist.*\[784\].*8,000.*2,000.*10 classes/s);

  await page.goto(`${base}/#/models`);
  await page.waitForSelector('[data-model="dashboard-mlp"]');
  const variants = await page.locator('[data-model="dashboard-mlp"] .variant').allTextContents();
  t.is(variants.length, 3);
  t.regex(variants.join(' | '), /float32.*KB.*\| float16.*\| uint8/);
  t.regex((await page.textContent('[data-model="dashboard-mlp"] .snippet')) ?? '', /loadModel\(\{ baseUrl: 'http:\/\/127\.0\.0\.1:\d+', name: 'dashboard-mlp'/);
  await page.click('[data-try="dashboard-mlp"]');
  const demo = page.frameLocator('iframe.demo');
  await demo.locator('body[data-state="ready"]').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(SHOTS, 'models-desktop.png'), fullPage: true });
  t.deepEqual(t.context.errors, []);
});

test.serial('on a phone: one column, readable cards and charts', async (t) => {
  const { browser, cluster } = t.context;
  const jobId = watchedJob;
  if (!jobId) return t.fail('the job test did not run');
  const base = cluster.coordinator.httpUrl;
  const context = await browser.newContext({ ...devices['Pixel 5'] });
  t.teardown(() => context.close());
  await context.addInitScript((token) => sessionStorage.setItem('syncline.token', token), TOKEN);
  const page = await newPage(t, context);
  await page.goto(`${base}/#/jobs/${jobId}`);
  await page.waitForSelector('#final-metrics');
  await page.waitForSelector('.timeline .span', { timeout: 15_000 });
  // Nothing wider than the screen.
  t.true(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scrolling');
  const chart = await page.locator('.chart-panel').first().boundingBox();
  t.true(chart !== null && chart.width > 300, `a chart is ${chart?.width} px wide`);
  await page.screenshot({ path: join(SHOTS, 'job-phone.png'), fullPage: true });
  await page.goto(`${base}/#/jobs`);
  await page.waitForSelector(`[data-job="${jobId}"]`);
  await page.screenshot({ path: join(SHOTS, 'jobs-phone.png') });
  await page.goto(`${base}/#/workers`);
  await page.waitForSelector('#workers tbody tr');
  t.true(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'workers fit');
  await page.screenshot({ path: join(SHOTS, 'workers-phone.png') });
  t.deepEqual(t.context.errors, []);
});
