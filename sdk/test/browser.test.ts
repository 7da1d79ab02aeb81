// The SDK's browser bundle in headless Chromium against a real coordinator (nats-server +
// in-process coordinator, a trained MNIST MLP published into it): the page predicts what the
// Node SDK predicts, on desktop and under Pixel 5 emulation; a second load is served by the
// Cache API; corrupt bytes from the server or the cache are refused; and the coordinator's
// /demo page recognises a digit drawn with the mouse (screenshot in test/screenshots/demo.png)
// and has a published DCGAN-style generator draw one (test/screenshots/demo-generated.png).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { chromium, devices, type Browser, type BrowserContext, type Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '@syncline/worker/mnist';
import type * as Sdk from '../src/index.js';
import { loadModel, type Quantization } from '../src/index.js';
import { serveProxy, servePage, type TestServer } from './helpers/browser-servers.js';
import { trainMnistMlp } from './helpers/mnist-model.js';
import { startRegistry, type Registry } from './helpers/registry.js';

declare global {
  interface Window {
    syncline: typeof Sdk;
  }
}

const sdkDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.SYNCLINE_CHROMIUM ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SAMPLES = 8;

interface Context {
  registry: Registry;
  page: TestServer;
  proxy: TestServer;
  corrupt: TestServer;
  /** Proxies that alter model.json, or a shard and its digest in model.json. */
  forgedJson: TestServer;
  forgedShard: TestServer;
  browser: Browser;
  inputs: number[];
  /** Node SDK outputs for `inputs`, per variant. */
  expected: Map<Quantization, Float32Array>;
}
const test = anyTest as TestFn<Context>;

const LATENT = 8;

/**
 * The layer kinds of examples/mnist-dcgan.json (dense, batch norm, transposed convolutions), seeded
 * weights; a conditional generator's input is the latent vector followed by `classes` one-hot values.
 */
function dcganGenerator(classes = 0): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [LATENT + classes], units: 7 * 7 * 8, kernelInitializer: init(1) }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.batchNormalization(),
      tf.layers.reshape({ targetShape: [7, 7, 8] }),
      tf.layers.conv2dTranspose({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.upSampling2d({ size: [2, 2] }),
      tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'sigmoid', kernelInitializer: init(3) }),
      tf.layers.flatten(),
    ],
  });
}

test.before(async (t) => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set SYNCLINE_CHROMIUM`);
  execFileSync(process.execPath, [join(sdkDir, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  const [registry, trained, browser] = await Promise.all([
    startRegistry(),
    trainMnistMlp({ hidden: 32, epochs: 3 }),
    chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS }),
  ]);
  await registry.publish(trained, 'digits');
  trained.dispose();
  const generator = dcganGenerator();
  await registry.publish(generator, 'dcgan', { meta: { kind: 'gan-generator', latentDim: LATENT } });
  generator.dispose();
  const inputs = Array.from(loadMnist().heldout.x.subarray(0, SAMPLES * 784));
  const expected = new Map<Quantization, Float32Array>();
  for (const quantization of ['float32', 'uint8'] as const) {
    const model = await loadModel({ baseUrl: registry.baseUrl, name: 'digits', version: 1 }, { quantization, cache: false });
    expected.set(quantization, model.predict(Float32Array.from(inputs)));
    model.dispose();
  }
  t.context = {
    registry,
    browser,
    inputs,
    expected,
    page: await servePage(join(sdkDir, 'dist', 'browser')),
    proxy: await serveProxy(registry.baseUrl),
    corrupt: await serveProxy(registry.baseUrl, { corrupt: true }),
    forgedJson: await serveProxy(registry.baseUrl, { tamper: 'model-json' }),
    forgedShard: await serveProxy(registry.baseUrl, { tamper: 'shard-and-digest' }),
  };
});

test.after.always(async (t) => {
  const { browser, page, proxy, corrupt, forgedJson, forgedShard, registry } = t.context;
  await browser?.close();
  await Promise.all([page?.close(), proxy?.close(), corrupt?.close(), forgedJson?.close(), forgedShard?.close()]);
  await registry?.stop();
});

async function openPage(t: ExecutionContext<Context>, context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => t.log(`page error: ${error.message}`));
  await page.goto(t.context.page.url);
  await page.waitForFunction(() => 'syncline' in window);
  return page;
}

interface PageLoad {
  backend?: string;
  version?: number;
  outputs?: number[];
  error?: { name: string; message: string; check?: string; problem?: string };
}

/** Loads digits v1 (or `latest`) in the page from `baseUrl` and predicts `inputs`; errors come back as values. */
function loadInPage(page: Page, args: { baseUrl: string; inputs: number[]; quantization?: Quantization; backend?: string; version?: number | 'latest'; trustedKeys?: string[] }): Promise<PageLoad> {
  return page.evaluate(async ({ baseUrl, inputs, quantization, backend, version, trustedKeys }) => {
    try {
      const model = await window.syncline.loadModel(
        { baseUrl, name: 'digits', version: version ?? 1 },
        { ...(quantization && { quantization }), ...(backend && { backend }), ...(trustedKeys && { trustedKeys }) },
      );
      try {
        return { backend: model.backend, version: model.version, outputs: Array.from(model.predict(new Float32Array(inputs))) };
      } finally {
        model.dispose();
      }
    } catch (error) {
      const { name, message, check, problem } = error as Error & { check?: string; problem?: string };
      return { error: { name, message, ...(check !== undefined && { check }), ...(problem !== undefined && { problem }) } };
    }
  }, args);
}

function assertSame(t: ExecutionContext<Context>, load: PageLoad, quantization: Quantization, what: string): void {
  t.is(load.error, undefined, `${what}: ${load.error?.message}`);
  const expected = t.context.expected.get(quantization)!;
  t.is(load.outputs?.length, expected.length, what);
  const worst = (load.outputs ?? []).reduce((w, v, i) => Math.max(w, Math.abs(v - expected[i]!)), 0);
  t.true(worst < 1e-4, `${what}: the page differs from the Node SDK by up to ${worst}`);
}

test.serial('desktop Chromium predicts what the Node SDK predicts, loading only the backend it runs on', async (t) => {
  const { browser, registry, inputs, page: pageServer } = t.context;
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await openPage(t, context);
  // Straight from the coordinator, another origin: CORS as the coordinator serves it.
  const first = await loadInPage(page, { baseUrl: registry.baseUrl, inputs });
  assertSame(t, first, 'float32', `default backend (${first.backend})`);
  t.true(['webgpu', 'webgl'].includes(first.backend ?? ''), `picked ${first.backend}`);
  t.false(pageServer.requests.some((p) => p.endsWith('.wasm')), 'no .wasm fetched for a GPU backend');
  assertSame(t, await loadInPage(page, { baseUrl: registry.baseUrl, inputs, quantization: 'uint8' }), 'uint8', 'uint8 variant');
  const wasm = await loadInPage(page, { baseUrl: registry.baseUrl, inputs, backend: 'wasm' });
  t.is(wasm.backend, 'wasm');
  assertSame(t, wasm, 'float32', 'wasm backend');
  t.true(pageServer.requests.some((p) => p.endsWith('.wasm')), 'the wasm backend fetched its binary from next to the bundle');
  t.log(`default backend ${first.backend}; SDK files served: ${[...new Set(pageServer.requests)].join(' ')}`);
});

test.serial('a Pixel 5 (mobile emulation) predicts the same', async (t) => {
  const { browser, registry, inputs } = t.context;
  const context = await browser.newContext({ ...devices['Pixel 5'] });
  t.teardown(() => context.close());
  const page = await openPage(t, context);
  t.deepEqual(await page.evaluate(() => [/Mobile/.test(navigator.userAgent), navigator.maxTouchPoints > 0, window.innerWidth]), [true, true, 393]);
  assertSame(t, await loadInPage(page, { baseUrl: registry.baseUrl, inputs }), 'float32', 'Pixel 5');
  assertSame(t, await loadInPage(page, { baseUrl: registry.baseUrl, inputs, quantization: 'uint8' }), 'uint8', 'Pixel 5, uint8');
});

test.serial('a second load comes from the Cache API; a corrupt cache entry is dropped and fetched again', async (t) => {
  const { browser, proxy, inputs } = t.context;
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await openPage(t, context);
  // With the HTTP cache off, every request the SDK does not answer from its own cache reaches the proxy.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const shard = '/v1/models/digits/1/group1-shard1of1.bin';
  const requestsDuring = async (load: () => Promise<PageLoad>) => {
    const before = proxy.requests.length;
    assertSame(t, await load(), 'float32', 'through the proxy');
    return proxy.requests.slice(before);
  };
  t.deepEqual(await requestsDuring(() => loadInPage(page, { baseUrl: proxy.url, inputs })), ['/v1/models/digits/1/model.json', shard]);
  await page.reload();
  await page.waitForFunction(() => 'syncline' in window);
  t.deepEqual(await requestsDuring(() => loadInPage(page, { baseUrl: proxy.url, inputs })), [], 'a pinned version: no request at all');
  t.deepEqual(await requestsDuring(() => loadInPage(page, { baseUrl: proxy.url, inputs, version: 'latest' })), ['/v1/models/digits/latest/model.json'], 'latest: model.json only');

  const flipped = await page.evaluate(async (url) => {
    const cache = await caches.open('syncline-models');
    const bytes = new Uint8Array(await (await cache.match(url))!.arrayBuffer());
    bytes[1000] = bytes[1000]! ^ 0x10;
    await cache.put(url, new Response(bytes));
    return bytes.length;
  }, `${proxy.url}${shard}`);
  t.true(flipped > 1000);
  t.deepEqual(await requestsDuring(() => loadInPage(page, { baseUrl: proxy.url, inputs })), [shard], 'the bad entry was refetched');
  t.deepEqual(await requestsDuring(() => loadInPage(page, { baseUrl: proxy.url, inputs })), [], 'and the good bytes cached again');
});

test.serial("latest is revalidated through the browser's HTTP cache: a 304 and no weight bytes", async (t) => {
  const { browser, proxy, inputs } = t.context;
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await openPage(t, context);
  const before = proxy.answers.length;
  for (let i = 0; i < 2; i++) assertSame(t, await loadInPage(page, { baseUrl: proxy.url, inputs, version: 'latest' }), 'float32', `latest, load ${i + 1}`);
  t.deepEqual(proxy.answers.slice(before), [
    { path: '/v1/models/digits/latest/model.json', status: 200 },
    { path: '/v1/models/digits/1/group1-shard1of1.bin', status: 200 },
    { path: '/v1/models/digits/latest/model.json', status: 304 },
  ]);
});

test.serial('a shard corrupted on its way from the server is refused by its sha256', async (t) => {
  const { browser, corrupt, inputs } = t.context;
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await openPage(t, context);
  for (const quantization of ['float32', 'uint8'] as const) {
    const load = await loadInPage(page, { baseUrl: corrupt.url, inputs, quantization });
    t.is(load.outputs, undefined);
    t.is(load.error?.name, 'ModelIntegrityError', load.error?.message);
    t.is(load.error?.check, 'sha256');
  }
  // Nothing corrupt was kept: the cache holds the model.json files only.
  const cached = await page.evaluate(async () => (await (await caches.open('syncline-models')).keys()).map((r) => new URL(r.url).pathname));
  t.true(cached.every((p) => p.endsWith('/model.json')), cached.join(' '));
});

test.serial('with trustedKeys, a signed model loads and an altered model.json or shard is refused', async (t) => {
  const { browser, registry, corrupt, forgedJson, forgedShard, inputs } = t.context;
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await openPage(t, context);
  const trustedKeys = [registry.publicKey];
  for (const quantization of ['float32', 'uint8'] as const) {
    assertSame(t, await loadInPage(page, { baseUrl: registry.baseUrl, inputs, quantization, trustedKeys }), quantization, `signed ${quantization}`);
    const json = await loadInPage(page, { baseUrl: forgedJson.url, inputs, quantization, trustedKeys });
    t.is(json.error?.name, 'ModelSignatureError', json.error?.message);
    t.is(json.error?.problem, 'bad-signature');
    const shard = await loadInPage(page, { baseUrl: corrupt.url, inputs, quantization, trustedKeys });
    t.is(shard.error?.name, 'ModelIntegrityError', shard.error?.message);
    const forged = await loadInPage(page, { baseUrl: forgedShard.url, inputs, quantization, trustedKeys });
    t.is(forged.error?.name, 'ModelSignatureError', forged.error?.message);
    t.is(forged.outputs, undefined);
  }
  // A key the page does not trust.
  const other = await loadInPage(page, { baseUrl: registry.baseUrl, inputs, trustedKeys: ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='] });
  t.is(other.error?.problem, 'untrusted-key', other.error?.message);
});

/** Opens the registry's /demo page (with `query`) in a new browser context closed at the test's end; the page is ready. */
async function openDemo(t: ExecutionContext<Context>, query: string, width = 1200): Promise<Page> {
  const context = await t.context.browser.newContext({ viewport: { width, height: 470 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (error) => t.log(`page error: ${error.message}`));
  await page.goto(`${t.context.registry.baseUrl}/demo${query}`);
  await page.waitForSelector('body[data-state]');
  t.is(await page.getAttribute('body', 'data-state'), 'ready', await page.textContent('#status') ?? '');
  return page;
}

test.serial('the /demo page recognises a digit drawn with the mouse, with top 3 and saliency', async (t) => {
  const { registry } = t.context;
  const page = await openDemo(t, '?model=digits', 1000);

  // A 7: a bar across the top, then a stroke down to the bottom left.
  const pad = await page.locator('#pad').boundingBox();
  if (pad === null) return t.fail('no drawing pad');
  const at = (x: number, y: number) => [pad.x + x, pad.y + y] as const;
  await page.mouse.move(...at(70, 60));
  await page.mouse.down();
  await page.mouse.move(...at(205, 60), { steps: 12 });
  await page.mouse.move(...at(125, 225), { steps: 16 });
  await page.mouse.up();
  await page.waitForFunction(() => document.body.dataset.prediction !== '');
  const prediction = await page.getAttribute('body', 'data-prediction');
  const rows = await page.locator('#top .row').allTextContents();
  t.is(rows.length, 3);

  // The page's image handling matches the Node SDK's on the same pixels.
  const pixels = await page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('#pad')!;
    return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
  });
  const model = await loadModel({ baseUrl: registry.baseUrl, name: 'digits' }, { cache: false });
  const [top] = model.predictTopK({ data: Uint8ClampedArray.from(pixels), width: 280, height: 280 }, 3, { fit: 'content' });
  model.dispose();
  t.deepEqual(rows.map((r) => r.slice(0, 1)), top!.map((c) => String(c.index)));
  t.is(prediction, '7', `top 3: ${rows.join(' | ')}`);
  const saliency = await page.evaluate(() => {
    const data = document.querySelector<HTMLCanvasElement>('#saliency')!.getContext('2d')!.getImageData(0, 0, 28, 28).data;
    return data.reduce((n, v, i) => n + (i % 4 === 0 ? v : 0), 0);
  });
  t.true(saliency > 0, 'the saliency map is drawn');

  const screenshot = join(sdkDir, 'test', 'screenshots', 'demo.png');
  await mkdir(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });
});

/** The demo page's generated sample: 28x28 RGBA bytes. */
function drawnSample(page: Page): Promise<number[]> {
  return page.evaluate(() => Array.from(document.querySelector<HTMLCanvasElement>('#sample')!.getContext('2d')!.getImageData(0, 0, 28, 28).data));
}

/** The largest difference, in 1/255 steps, between generated values in [0, 1] and drawn RGBA bytes. */
function worstDifference(expected: Float32Array, drawn: number[]): number {
  let worst = 0;
  expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(Math.round(255 * v) - drawn[i * 4]!))));
  return worst;
}

test.serial('the /demo page has a published GAN generator draw a digit, as the Node SDK generates it', async (t) => {
  const { registry } = t.context;
  // No ?generator=: the page finds the generator by its model.json, and keeps it out of the classifier's place.
  const page = await openDemo(t, '');
  t.true((await page.textContent('#status'))!.startsWith('digits v1'));
  t.true(await page.isVisible('#generate'), await page.textContent('#generator-note') ?? '');
  t.false(await page.isVisible('#class-choice'), 'an unconditional generator offers no class choice');

  await page.click('#generate');
  await page.waitForFunction(() => document.body.dataset.generatedSeed !== undefined && document.body.dataset.prediction !== '');
  const seed = Number(await page.getAttribute('body', 'data-generated-seed'));
  const generator = await loadModel({ baseUrl: registry.baseUrl, name: 'dcgan' }, { cache: false });
  const expected = generator.generate(1, { seed });
  generator.dispose();
  const worst = worstDifference(expected, await drawnSample(page));
  t.true(worst <= 1, `the page's sample differs from the Node SDK's by ${worst} / 255`);
  t.true(Math.max(...expected) - Math.min(...expected) > 4 / 255, 'the sample is not flat, so the comparison means something');

  // What the classifier makes of it is what the Node SDK predicts on the pad's pixels.
  const pixels = await page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('#pad')!;
    return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
  });
  const classifier = await loadModel({ baseUrl: registry.baseUrl, name: 'digits' }, { cache: false });
  const [best] = classifier.predictClass({ data: Uint8ClampedArray.from(pixels), width: 280, height: 280 }, { fit: 'content' });
  classifier.dispose();
  t.is(await page.getAttribute('body', 'data-prediction'), String(best));
  await page.screenshot({ path: join(sdkDir, 'test', 'screenshots', 'demo-generated.png') });
});

test.serial('the /demo page has a conditional generator draw the class chosen, as the Node SDK generates it', async (t) => {
  const { registry } = t.context;
  const names = Array.from({ length: 10 }, (_, c) => `digit ${c}`);
  const generator = dcganGenerator(10);
  await registry.publish(generator, 'acgan', { meta: { kind: 'gan-generator', latentDim: LATENT, conditionClasses: 10, classNames: names } });
  generator.dispose();
  const page = await openDemo(t, '?generator=acgan');
  t.true(await page.isVisible('#class-choice'), await page.textContent('#generator-note') ?? '');
  const options = await page.$$eval('#generator-class option', (all) => all.map((o) => [(o as HTMLOptionElement).value, o.textContent]));
  t.deepEqual(options, [['', 'any'], ...names.map((name, c) => [String(c), name])]);

  const node = await loadModel({ baseUrl: registry.baseUrl, name: 'acgan' }, { cache: false });
  t.teardown(() => node.dispose());
  for (const asked of ['7', '2', '']) {
    await page.selectOption('#generator-class', asked);
    await page.evaluate(() => { delete document.body.dataset.generatedSeed; });
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.generatedSeed !== undefined && document.body.dataset.prediction !== '');
    t.is(await page.getAttribute('body', 'data-generated-class'), asked);
    const seed = Number(await page.getAttribute('body', 'data-generated-seed'));
    const expected = node.generate(1, { seed, ...(asked !== '' && { classes: Number(asked) }) });
    t.true(worstDifference(expected, await drawnSample(page)) <= 1, `class '${asked}': the page's sample differs from the Node SDK's`);
    if (asked !== '') {
      // The class matters: the same seed asked for another class draws something else.
      const other = node.generate(1, { seed, classes: (Number(asked) + 1) % 10 });
      t.true(worstDifference(other, await drawnSample(page)) > 1, `class '${asked}': another class draws the same sample`);
      t.regex(await page.textContent('#generator-note') ?? '', new RegExp(`asked for digit ${asked}$`));
    }
  }
  // To look at: the class choice on a desktop window and on a phone's.
  await page.selectOption('#generator-class', '7');
  await page.screenshot({ path: join(sdkDir, 'test', 'screenshots', 'demo-conditional.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(sdkDir, 'test', 'screenshots', 'demo-conditional-phone.png'), fullPage: true });
});
