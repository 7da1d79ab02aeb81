// GET /demo: draw a digit, see what a published model predicts, its top 3 and the saliency map;
// or have a published GAN generator draw one ("draw me a digit") and see what the model makes
// of it. The page loads the SDK's browser bundle from /demo/sdk/ and the models from this
// coordinator; ?model=NAME&version=N&quantization=uint8 pick the classifier (default: the first
// listed model that is not a GAN generator), ?generator=NAME the generator (default: the first
// listed one whose model.json says it is a GAN generator; none, and the button stays hidden). A
// conditional generator (model.json's syncline.conditionClasses) gets a choice of the class to
// draw; "any" lets the latent seed pick one.

export function demoPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Syncline demo: draw a digit</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2433; background: #f4f6fa; }
  body { margin: 0; padding: 20px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  #status { color: #5a6478; font-size: 13px; margin-bottom: 16px; min-height: 1.2em; }
  main { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
  .panel { background: #fff; border-radius: 10px; padding: 14px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  .panel h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: #5a6478; margin: 0 0 10px; }
  canvas { display: block; border-radius: 6px; width: 280px; height: 280px; }
  #pad { background: #000; touch-action: none; cursor: crosshair; }
  #saliency, #sample { image-rendering: pixelated; background: #000; }
  #sample { width: 140px; height: 140px; }
  #generator[hidden], #class-choice[hidden] { display: none; }
  #class-choice { display: block; margin-top: 10px; font-size: 13px; color: #5a6478; }
  select { font: inherit; padding: 4px 6px; border-radius: 6px; border: 1px solid #c3c9d6; }
  button { margin-top: 10px; font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid #c3c9d6; background: #fff; cursor: pointer; }
  #digit { font-size: 96px; font-weight: 700; line-height: 1; text-align: center; width: 200px; margin: 8px 0 14px; }
  .row { display: flex; align-items: center; gap: 8px; margin: 6px 0; font-variant-numeric: tabular-nums; }
  .row b { width: 14px; }
  .bar { height: 14px; background: #3b6fd8; border-radius: 3px; }
  .row span { font-size: 13px; color: #5a6478; }
  .note { font-size: 12px; color: #5a6478; margin-top: 8px; }
</style>
</head>
<body>
<h1>Draw a digit</h1>
<div id="status">loading the model…</div>
<main>
  <section class="panel">
    <h2>Your drawing</h2>
    <canvas id="pad" width="280" height="280"></canvas>
    <button id="clear" type="button">Clear</button>
  </section>
  <section class="panel" id="generator" hidden>
    <h2>Draw me a digit</h2>
    <canvas id="sample" width="28" height="28"></canvas>
    <label id="class-choice" hidden>Class <select id="generator-class"><option value="">any</option></select></label>
    <button id="generate" type="button">Draw me a digit</button>
    <div class="note" id="generator-note"></div>
  </section>
  <section class="panel">
    <h2>Prediction</h2>
    <div id="digit">–</div>
    <div id="top"></div>
  </section>
  <section class="panel">
    <h2>Saliency (what the model looks at)</h2>
    <canvas id="saliency" width="28" height="28"></canvas>
    <div class="note" id="saliency-note">|∂ score / ∂ pixel|: brighter pixels move the score more</div>
  </section>
</main>
<script type="module">
const root = location.pathname.replace(/demo\\/?$/, '');
const params = new URLSearchParams(location.search);
// The dashboard's token (same origin, same session), for private models.
const token = sessionStorage.getItem('syncline.token') || undefined;
const authHeaders = token ? { authorization: 'Bearer ' + token } : {};
const status = document.getElementById('status');
const pad = document.getElementById('pad');
const padContext = pad.getContext('2d', { willReadFrequently: true });
const saliency = document.getElementById('saliency');
const IMAGE = { fit: 'content' };

function clearPad() {
  padContext.fillStyle = '#000';
  padContext.fillRect(0, 0, pad.width, pad.height);
  document.getElementById('digit').textContent = '–';
  document.getElementById('top').replaceChildren();
  saliency.getContext('2d').clearRect(0, 0, 28, 28);
  document.body.dataset.prediction = '';
}

function showPrediction(model) {
  const [top] = model.predictTopK(pad, 3, IMAGE);
  const best = top[0];
  document.getElementById('digit').textContent = String(best.index);
  document.getElementById('top').replaceChildren(...top.map(({ index, score }) => {
    const row = document.createElement('div');
    row.className = 'row';
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.width = Math.max(2, Math.round(score * 150)) + 'px';
    const label = document.createElement('b');
    label.textContent = String(index);
    const value = document.createElement('span');
    value.textContent = (score * 100).toFixed(1) + '%';
    row.append(label, bar, value);
    return row;
  }));
  // The saliency of the predicted class in red to yellow (scaled to its 99th percentile, so a
  // few extreme pixels do not wash the rest out), over the model's own view of the drawing in blue.
  const input = model.prepareInput(pad, IMAGE);
  const grads = model.saliency(pad, best.index, IMAGE);
  const peak = Array.from(grads).sort((a, b) => a - b)[Math.floor(grads.length * 0.99)] || 1;
  const pixels = new ImageData(28, 28);
  for (let i = 0; i < 28 * 28; i++) {
    const s = Math.min(1, grads[i] / peak);
    pixels.data[i * 4] = Math.round(255 * Math.min(1, 2 * s));
    pixels.data[i * 4 + 1] = Math.round(255 * Math.max(0, 2 * s - 1));
    pixels.data[i * 4 + 2] = Math.round(150 * input[i] * (1 - s));
    pixels.data[i * 4 + 3] = 255;
  }
  saliency.getContext('2d').putImageData(pixels, 0, 0);
  document.getElementById('saliency-note').textContent = '|∂ p(' + best.index + ') / ∂ pixel|: brighter pixels move it more';
  document.body.dataset.prediction = String(best.index);
}

/** Published models with what their model.json says they are (a GAN generator or not). */
async function listModels() {
  const { models } = await (await fetch(root + 'v1/models', { headers: authHeaders })).json();
  return Promise.all(models.map(async (m) => {
    const json = await (await fetch(m.url, { headers: authHeaders })).json().catch(() => ({}));
    return { ...m, generator: json.syncline?.kind === 'gan-generator' };
  }));
}

/** Paints one generated sample (28x28 values in [0, 1]) on the small canvas and, scaled, on the pad. */
function paintSample(values) {
  const pixels = new ImageData(28, 28);
  for (let i = 0; i < 28 * 28; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, values[i])));
    pixels.data.set([v, v, v, 255], i * 4);
  }
  const sample = document.getElementById('sample');
  sample.getContext('2d').putImageData(pixels, 0, 0);
  padContext.imageSmoothingEnabled = true;
  padContext.fillStyle = '#000';
  padContext.fillRect(0, 0, pad.width, pad.height);
  padContext.drawImage(sample, 0, 0, pad.width, pad.height);
}

async function setUpGenerator(loadModel, listed) {
  const name = params.get('generator') ?? listed.find((m) => m.generator)?.name;
  if (!name) return;
  const generator = await loadModel({ baseUrl: location.origin + root, name, version: 'latest' }, token ? { token } : {});
  if (generator.inputShape.length !== 1 || generator.outputSize !== 28 * 28) {
    generator.dispose();
    throw new Error(name + ' does not generate 28x28 images from a latent vector');
  }
  const note = document.getElementById('generator-note');
  note.textContent = generator.name + ' v' + generator.version + ' on ' + generator.backend;
  const choice = document.getElementById('generator-class');
  const classNames = generator.classNames ?? [];
  for (let c = 0; c < generator.conditionClasses; c++) choice.append(new Option(classNames[c] ?? String(c), String(c)));
  document.getElementById('class-choice').hidden = generator.conditionClasses === 0;
  document.getElementById('generate').addEventListener('click', () => {
    const seed = crypto.getRandomValues(new Uint32Array(1))[0];
    const asked = choice.value === '' ? undefined : Number(choice.value);
    paintSample(generator.generate(1, { seed, ...(asked !== undefined && { classes: asked }) }));
    note.textContent = generator.name + ' v' + generator.version + ', latent seed ' + seed +
      (asked === undefined ? '' : ', asked for ' + (classNames[asked] ?? asked));
    document.body.dataset.generatedSeed = String(seed);
    document.body.dataset.generatedClass = choice.value;
    onGenerated();
  });
  document.getElementById('generator').hidden = false;
}

let onGenerated = () => {};

async function main() {
  const { loadModel } = await import(root + 'demo/sdk/syncline-sdk.min.js');
  const listed = await listModels();
  let name = params.get('model');
  if (!name) {
    const classifier = listed.find((m) => !m.generator);
    if (!classifier) throw new Error('no model is published yet: train one first');
    name = classifier.name;
  }
  const generating = setUpGenerator(loadModel, listed).catch((error) => {
    document.getElementById('generator-note').textContent = 'no generator: ' + error.message;
  });
  const version = params.has('version') ? Number(params.get('version')) : 'latest';
  const quantization = params.get('quantization') ?? undefined;
  const started = performance.now();
  const model = await loadModel({ baseUrl: location.origin + root, name, version }, {
    ...(quantization && { quantization }),
    ...(token && { token }),
    onProgress: (f) => { status.textContent = 'loading ' + name + '… ' + Math.round(f * 100) + '%'; },
  });
  await model.warmup();
  status.textContent = model.name + ' v' + model.version + ' (' + model.quantization + ') on ' + model.backend;
  status.title = 'loaded and warmed up in ' + Math.round(performance.now() - started) + ' ms';

  let drawing = false;
  let last;
  let pending = false;
  const predictSoon = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; showPrediction(model); });
  };
  const point = (e) => { const r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; };
  pad.addEventListener('pointerdown', (e) => { drawing = true; last = point(e); pad.setPointerCapture(e.pointerId); });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    const next = point(e);
    padContext.strokeStyle = '#fff';
    padContext.lineWidth = 18;
    padContext.lineCap = 'round';
    padContext.lineJoin = 'round';
    padContext.beginPath();
    padContext.moveTo(...last);
    padContext.lineTo(...next);
    padContext.stroke();
    last = next;
    predictSoon();
  });
  const stop = () => { if (drawing) { drawing = false; showPrediction(model); } };
  pad.addEventListener('pointerup', stop);
  pad.addEventListener('pointercancel', stop);
  document.getElementById('clear').addEventListener('click', clearPad);
  onGenerated = () => showPrediction(model);
  await generating;
  document.body.dataset.state = 'ready';
}

clearPad();
main().catch((error) => {
  status.textContent = 'could not load the model: ' + error.message;
  document.body.dataset.state = 'error';
});
</script>
</body>
</html>
`;
}
