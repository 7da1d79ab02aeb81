// Published models: versions with their held-out metrics, the size of each quantized variant,
// a copy-paste SDK snippet, and a try-it panel (the drawing demo for 28x28 image models, a
// number input for the others, both through the SDK in this page).
import { getJson, token } from '../api.js';
import { bytes, h, num } from '../dom.js';

const elements = (shape) => (shape ?? []).reduce((a, b) => a * b, 1);

function snippet(name, origin) {
  return [
    "import { loadModel } from '@syncline/sdk';",
    '',
    `const model = await loadModel({ baseUrl: '${origin}', name: '${name}', version: 'latest' }, {`,
    "  quantization: 'uint8',   // or 'float16', or leave out for float32",
    '});',
    'const [best] = model.predictTopK(input, 1);',
  ].join('\n');
}

function copyButton(text) {
  const button = h('button', { type: 'button', class: 'copy' }, 'Copy');
  button.addEventListener('click', async () => {
    await navigator.clipboard?.writeText(text).catch(() => undefined);
    button.textContent = 'Copied';
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
  return button;
}

function tryNumbers(name, version, shape) {
  const n = elements(shape);
  const input = h('textarea', { rows: 3, placeholder: `${n} numbers, separated by commas or spaces` });
  const out = h('pre', { class: 'output' });
  const run = h('button', { type: 'button', class: 'primary' }, 'Predict');
  run.addEventListener('click', async () => {
    out.textContent = 'loading the model…';
    try {
      const values = input.value.split(/[\s,]+/).filter(Boolean).map(Number);
      if (values.length !== n || values.some((v) => !Number.isFinite(v))) throw new Error(`expected ${n} numbers, got ${values.length}`);
      const { loadModel } = await import(new URL('demo/sdk/syncline-sdk.min.js', document.baseURI).href);
      // The session's token: private models need one.
      const model = await loadModel({ baseUrl: new URL('.', document.baseURI).href.replace(/\/$/, ''), name, version }, token.get() ? { token: token.get() } : {});
      out.textContent = Array.from(model.predict(Float32Array.from(values)), (v) => v.toFixed(4)).join('  ');
      model.dispose();
    } catch (err) {
      out.textContent = err.message;
    }
  });
  return h('div', { class: 'try' }, input, run, out);
}

function tryIt(model, v) {
  const slot = h('div', {});
  const open = h('button', { type: 'button', class: 'primary', 'data-try': model.name }, 'Try it');
  open.addEventListener('click', () => {
    open.remove();
    if (elements(v.inputShape) === 784) {
      slot.append(h('iframe', { class: 'demo', title: `draw a digit for ${model.name}`, src: `demo?model=${encodeURIComponent(model.name)}&version=${v.version}` }));
    } else {
      slot.append(tryNumbers(model.name, v.version, v.inputShape));
    }
  });
  return h('div', {}, open, slot);
}

function modelCard(model) {
  const latest = model.versions[0];
  const origin = new URL('.', document.baseURI).href.replace(/\/$/, '');
  const code = snippet(model.name, origin);
  return h(
    'section',
    { class: 'panel model', id: `model-${model.name}`, 'data-model': model.name },
    h('div', { class: 'row' }, h('h2', {}, model.name), h('span', { class: 'tag' }, `v${latest.version}`), latest.inputShape && h('span', { class: 'muted' }, `input [${latest.inputShape.join(', ')}]`)),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'versions' },
        h('thead', {}, h('tr', {}, ['Version', 'Published', 'Held-out loss', 'Accuracy', 'Job', 'Files'].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          model.versions.map((v) =>
            h(
              'tr',
              {},
              h('td', { 'data-label': 'Version' }, `v${v.version}`),
              h('td', { 'data-label': 'Published' }, new Date(v.createdUnixMs).toLocaleString()),
              h('td', { 'data-label': 'Held-out loss' }, num(v.metrics?.loss ?? 0)),
              h('td', { 'data-label': 'Accuracy' }, v.metrics?.accuracy !== undefined ? num(v.metrics.accuracy) : '–'),
              h('td', { 'data-label': 'Job' }, h('a', { href: `#/jobs/${encodeURIComponent(v.jobId)}` }, v.jobId)),
              h('td', { 'data-label': 'Files' }, h('a', { href: v.url, target: '_blank', rel: 'noopener' }, 'model.json')),
            ),
          ),
        ),
      ),
    ),
    h('h3', {}, `Variants of v${latest.version}`),
    h(
      'div',
      { class: 'variants' },
      latest.sizes.map((s) =>
        h(
          'div',
          { class: 'variant', 'data-variant': s.variant },
          h('strong', {}, s.variant),
          h('span', {}, bytes(s.weightBytes)),
          h('span', { class: 'muted' }, s.variant === 'float32' ? 'as trained' : s.generated ? `${Math.round((100 * s.weightBytes) / latest.sizes[0].weightBytes)}% · made` : `${Math.round((100 * s.weightBytes) / latest.sizes[0].weightBytes)}% · made on first request`),
        ),
      ),
    ),
    h('h3', {}, 'Use it', copyButton(code)),
    h('pre', { class: 'snippet' }, h('code', {}, code)),
    h('h3', {}, 'Try it'),
    tryIt(model, latest),
  );
}

export async function modelsView(root, focus) {
  const { models } = await getJson('api/models');
  root.append(h('h1', {}, 'Models'));
  if (models.length === 0) root.append(h('p', { class: 'empty' }, 'No model is published yet: a job that succeeds publishes one.'));
  for (const m of models) root.append(modelCard(m));
  if (focus) document.getElementById(`model-${focus}`)?.scrollIntoView();
  return { onJob() {}, onWorkers() {}, onMetrics() {}, destroy() {} };
}
