// Data augmentation: each transformation against a reference computed here (flips and integer
// shifts exactly, rotation and zoom against a direct bilinear computation), draws keyed by the
// sample (the same in any batch, on any thread, fresh each epoch), and N workers training with
// augmentation equal one process.
import test from 'ava';
import { validateJobSpec } from '@syncline/coordinator';
import { Augmentation, JobSpec } from '@syncline/proto';
import { augmentBatch, drawParams } from '../src/augment/augment.js';
import { Augmenter } from '../src/augment/augmenter.js';
import { IDENTITY, affine, augmentImage, brightnessContrast, cutout, flip, type ImageShape } from '../src/augment/transforms.js';
import { selectBackend } from '../src/backend.js';
import { loadDataset } from '../src/data/registry.js';
import { Streams, fillNormal } from '../src/random/sample-random.js';
import { maxRelativeError, trainAlone, trainInProcess } from './helpers/in-process-job.js';

test.before(async () => {
  await selectBackend('wasm');
});

const SHAPE: ImageShape = { height: 7, width: 9, channels: 2 };
const at = (y: number, x: number, k: number, s = SHAPE) => (y * s.width + x) * s.channels + k;

/** An image whose every value is distinct: (y, x, k) → 100y + 10x + k + 1. */
function ramp(s = SHAPE): Float32Array {
  const image = new Float32Array(s.height * s.width * s.channels);
  for (let y = 0; y < s.height; y++) for (let x = 0; x < s.width; x++) for (let k = 0; k < s.channels; k++) image[at(y, x, k, s)] = 100 * y + 10 * x + k + 1;
  return image;
}

/** The bilinear sample of `image` at (sy, sx), zero outside: the textbook formula over the four neighbours. */
function bilinear(image: Float32Array, s: ImageShape, sy: number, sx: number, k: number): number {
  const y0 = Math.floor(sy);
  const x0 = Math.floor(sx);
  let sum = 0;
  for (const [yy, wy] of [[y0, 1 - (sy - y0)], [y0 + 1, sy - y0]] as const) {
    for (const [xx, wx] of [[x0, 1 - (sx - x0)], [x0 + 1, sx - x0]] as const) {
      if (yy >= 0 && yy < s.height && xx >= 0 && xx < s.width) sum += wy * wx * image[at(yy, xx, k, s)]!;
    }
  }
  return sum;
}

test('flips mirror exactly', (t) => {
  const image = ramp();
  const h = image.slice();
  flip(h, SHAPE, true, false);
  const v = image.slice();
  flip(v, SHAPE, false, true);
  for (let y = 0; y < SHAPE.height; y++) {
    for (let x = 0; x < SHAPE.width; x++) {
      for (let k = 0; k < 2; k++) {
        t.is(h[at(y, x, k)], image[at(y, SHAPE.width - 1 - x, k)]);
        t.is(v[at(y, x, k)], image[at(SHAPE.height - 1 - y, x, k)]);
      }
    }
  }
});

test('a whole-pixel shift moves every value exactly and fills with zeros', (t) => {
  const image = ramp();
  const shifted = image.slice();
  affine(shifted, SHAPE, 0, 1, 3, -2);
  for (let y = 0; y < SHAPE.height; y++) {
    for (let x = 0; x < SHAPE.width; x++) {
      for (let k = 0; k < 2; k++) {
        const sy = y + 2;
        const sx = x - 3;
        const expected = sy < SHAPE.height && sx >= 0 ? image[at(sy, sx, k)] : 0;
        t.is(shifted[at(y, x, k)], expected, `(${y}, ${x}, ${k})`);
      }
    }
  }
});

test('a quarter turn of a square image is the index rotation', (t) => {
  const s: ImageShape = { height: 8, width: 8, channels: 1 };
  const image = ramp(s);
  const turned = image.slice();
  affine(turned, s, Math.PI / 2, 1, 0, 0);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) t.true(Math.abs(turned[at(y, x, 0, s)]! - image[at(7 - x, y, 0, s)]!) < 1e-4);
});

test('rotation, zoom and shift together equal a direct bilinear computation', (t) => {
  const image = ramp();
  const angle = 0.37;
  const scale = 1.18;
  const [tx, ty] = [0.6, -1.3];
  const out = image.slice();
  affine(out, SHAPE, angle, scale, tx, ty);
  // Forward map p ↦ M(p − c) + c + t, M = scale · [[cos, −sin], [sin, cos]] on (x, y); invert M by its adjugate.
  const cx = (SHAPE.width - 1) / 2;
  const cy = (SHAPE.height - 1) / 2;
  const m = [scale * Math.cos(angle), -scale * Math.sin(angle), scale * Math.sin(angle), scale * Math.cos(angle)] as const;
  const det = m[0] * m[3] - m[1] * m[2];
  let worst = 0;
  for (let y = 0; y < SHAPE.height; y++) {
    for (let x = 0; x < SHAPE.width; x++) {
      const dx = x - cx - tx;
      const dy = y - cy - ty;
      const sx = (m[3] * dx - m[1] * dy) / det + cx;
      const sy = (-m[2] * dx + m[0] * dy) / det + cy;
      for (let k = 0; k < 2; k++) worst = Math.max(worst, Math.abs(out[at(y, x, k)]! - bilinear(image, SHAPE, sy, sx, k)));
    }
  }
  t.true(worst < 1e-3, `largest difference ${worst} on values up to ${image.at(-1)}`);
  t.notDeepEqual(out, image);
});

test('brightness, contrast and cutout follow their formulas', (t) => {
  const image = ramp();
  const out = image.slice();
  brightnessContrast(out, SHAPE, 0.5, 0.8);
  const pixels = SHAPE.height * SHAPE.width;
  for (let k = 0; k < 2; k++) {
    let mean = 0;
    for (let p = 0; p < pixels; p++) mean += image[p * 2 + k]!;
    mean /= pixels;
    for (let p = 0; p < pixels; p++) t.true(Math.abs(out[p * 2 + k]! - (mean + 0.8 * (image[p * 2 + k]! - mean) + 0.5)) < 1e-3);
  }
  const cut = image.slice();
  cutout(cut, SHAPE, 3, 0, 4);
  for (let y = 0; y < SHAPE.height; y++) {
    for (let x = 0; x < SHAPE.width; x++) {
      const inside = y >= 3 && y <= 5 && x <= 1;
      for (let k = 0; k < 2; k++) t.is(cut[at(y, x, k)], inside ? 0 : image[at(y, x, k)]);
    }
  }
});

const SPEC = Augmentation.fromJSON({ imageShape: [7, 9, 2], horizontalFlip: true, rotation: 20, zoom: 0.1, widthShift: 0.1, heightShift: 0.1, brightness: 0.1, contrast: 0.2, noiseStddev: 0.05, cutoutSize: 3 });

test('each sample is augmented the same in any batch and at any row, and afresh each epoch', (t) => {
  const size = 7 * 9 * 2;
  const batch = (samples: number[], epoch: number) => {
    const x = new Float32Array(samples.length * size);
    samples.forEach((_, r) => x.set(ramp(), r * size));
    augmentBatch(x, samples, SPEC, SHAPE, 5, epoch);
    return samples.map((_, r) => x.slice(r * size, (r + 1) * size));
  };
  const [a, b] = batch([10, 11], 0);
  const [b2, c, a2] = batch([11, 12, 10], 0);
  t.deepEqual(a2, a);
  t.deepEqual(b2, b);
  t.notDeepEqual(a, b);
  t.notDeepEqual(c, a);
  t.notDeepEqual(batch([10], 1)[0], a, 'a new epoch draws anew');
  t.notDeepEqual(batch([10], 0).map((x) => x)[0], ramp(), 'the image changed');
  // The draws are the per-sample streams', and the composition is augmentImage's.
  const noise = new Float32Array(size);
  const params = drawParams(SPEC, SHAPE, 5, 0, 10, noise);
  const expectedNoise = new Float32Array(size);
  fillNormal({ seed: 5, epoch: 0, sample: 10, stream: Streams.augmentation(3) }, expectedNoise);
  t.deepEqual(noise, expectedNoise);
  t.true(Math.abs(params.angle) <= (20 * Math.PI) / 180 && params.scale >= 0.9 && params.scale <= 1.1 && Math.abs(params.shiftX) <= 0.9);
  const manual = ramp();
  augmentImage(manual, SHAPE, params, noise);
  t.deepEqual(manual, a);
  const none = ramp();
  augmentImage(none, SHAPE, IDENTITY);
  t.deepEqual(none, ramp(), 'identity parameters change nothing');
});

test('the augmentation thread gives the same bits as augmenting on the calling thread', async (t) => {
  const size = 7 * 9 * 2;
  const samples = [3, 1, 4, 1, 5];
  const make = () => {
    const x = new Float32Array(samples.length * size);
    samples.forEach((_, r) => x.set(ramp(), r * size));
    return x;
  };
  const threaded = new Augmenter({ spec: SPEC, shape: SHAPE, seed: 7 });
  const inline = new Augmenter({ spec: SPEC, shape: SHAPE, seed: 7 }, { inline: true });
  try {
    const [a, b] = await Promise.all([threaded.augment(make(), samples, 2), threaded.augment(make(), samples, 3)]);
    t.deepEqual(a, await inline.augment(make(), samples, 2));
    t.deepEqual(b, await inline.augment(make(), samples, 3));
    await t.throwsAsync(threaded.augment(new Float32Array(5), samples, 0), { message: /augmentation failed: a batch of 5 images/ });
  } finally {
    await threaded.close();
    await inline.close();
  }
});

function augmentedSpec(augment: Record<string, unknown> | undefined): JobSpec {
  return validateJobSpec(
    JobSpec.fromJSON({
      name: 'augmented',
      model: {
        layers: [
          { reshape: { targetShape: [28, 28, 1] } },
          { conv2d: { filters: 4, kernelSize: [5, 5], strides: [2, 2], activation: 'relu' } },
          { maxPooling2d: { poolSize: [2, 2] } },
          { flatten: {} },
          { dense: { units: 10, activation: 'softmax' } },
        ],
        loss: 'categoricalCrossentropy',
        optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } },
      },
      dataset: { name: 'mnist', trainLimit: 96, ...(augment ? { augment } : {}) },
      training: { epochs: 2, globalBatchSize: 24, seed: 9, maxSteps: 8 },
      workers: { min: 1, max: 4 },
    }),
  );
}

test.serial('with augmentation, uneven shares and a membership change half-way match one process', async (t) => {
  const spec = augmentedSpec({ imageShape: [28, 28, 1], rotation: 15, zoom: 0.1, widthShift: 0.1, heightShift: 0.1, brightness: 0.1, contrast: 0.2, noiseStddev: 0.05, cutoutSize: 6 });
  const dataset = loadDataset('mnist');
  const alone = await trainAlone(spec, dataset);
  const expected = await alone.replica.getWeights();
  alone.replica.dispose();
  const plain = await trainAlone(augmentedSpec(undefined), dataset);
  t.true(maxRelativeError(await plain.replica.getWeights(), expected) > 1e-3, 'augmentation changed what was learned');
  plain.replica.dispose();
  const results = await trainInProcess(spec, dataset, [
    { workers: [0, 1], shares: [3, 1], until: 3 },
    { workers: [1, 2, 3], shares: [1, 2, 1] },
  ]);
  const weights = await Promise.all(results.map((r) => r.replica.getWeights()));
  for (const r of results) r.replica.dispose();
  for (const [rank, w] of weights.entries()) {
    const err = maxRelativeError(w, expected);
    t.true(err < 1e-5, `rank ${rank}: relative error ${err}`);
    t.deepEqual(w, weights[0]);
  }
});

test('augmentation is checked at submit time', (t) => {
  const bad = (augment: Record<string, unknown>) => t.throws(() => augmentedSpec(augment)).message;
  t.regex(bad({ rotation: 10 }), /^dataset\.augment: the dataset's samples have shape \[784\], not \(height, width, channels\): give imageShape \(for example \[28, 28, 1\]\)/);
  t.regex(bad({ imageShape: [28, 27, 1] }), /^dataset\.augment\.imageShape: \[28, 27, 1\] has 756 values but the dataset's samples \[784\] have 784/);
  t.regex(bad({ imageShape: [28, 28, 1], zoom: 1.5 }), /^dataset\.augment\.zoom: must be a finite number in \[0, 1\)/);
  t.regex(bad({ imageShape: [28, 28, 1], cutoutSize: 40 }), /^dataset\.augment\.cutoutSize: must be an integer from 0 to 28/);
  t.regex(bad({ imageShape: [28, 28, 1], rotation: -1 }), /^dataset\.augment\.rotation/);
  const ok = augmentedSpec({ imageShape: [28, 28, 1], horizontalFlip: true });
  t.deepEqual(ok.dataset!.augment!.imageShape, [28, 28, 1]);
});
