// The gradients of upsampling (ResizeNearestNeighborGrad, ResizeBilinearGrad) on every backend
// against a reference that shares no code with any of them: a resize with fixed sizes is a
// linear map, row matrix × image × column matrix, whose gradient TF.js computes with matrix
// products. The reference's forward pass is first checked against the cpu backend's own resize.
// Serial: each test switches the global backend.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await selectBackend('wasm');
  await selectBackend('native', { threads: 2 });
});

type Mode = 'nearest' | 'bilinear';
interface Case {
  mode: Mode;
  input: [number, number, number, number];
  size: [number, number];
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

/** The (to × from) matrix of a resize along one axis, read off the resize itself: column k is the resize of the k-th unit vector. */
async function axisMatrix(c: Case, axis: 0 | 1): Promise<tf.Tensor2D> {
  const from = c.input[axis + 1]!;
  const to = c.size[axis]!;
  await tf.setBackend('cpu');
  return tf.tidy(() => {
    // Unit images along the axis (1 pixel wide across the other), resized along that axis only.
    const units = tf.eye(from).reshape(axis === 0 ? [from, from, 1, 1] : [from, 1, from, 1]) as tf.Tensor4D;
    const size: [number, number] = axis === 0 ? [to, 1] : [1, to];
    const resized = resize(c, units, size);
    return resized.reshape([from, to]).transpose() as tf.Tensor2D;
  });
}

function resize(c: Case, images: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  return c.mode === 'nearest'
    ? tf.image.resizeNearestNeighbor(images, size, c.alignCorners, c.halfPixelCenters)
    : tf.image.resizeBilinear(images, size, c.alignCorners, c.halfPixelCenters);
}

/** rows (H×h) · image · colsᵀ (w×W), per batch element and channel, by matrix products. */
function separable(rows: tf.Tensor2D, cols: tf.Tensor2D, x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, ch] = x.shape;
  const planes = x.transpose([0, 3, 1, 2]).reshape([b * ch, h, w]) as tf.Tensor3D;
  const out = tf.matMul(tf.matMul(rows.expandDims(0).tile([b * ch, 1, 1]) as tf.Tensor3D, planes), cols.expandDims(0).tile([b * ch, 1, 1]) as tf.Tensor3D, false, true);
  return out.reshape([b, ch, rows.shape[0], cols.shape[0]]).transpose([0, 2, 3, 1]) as tf.Tensor4D;
}

const cases: Case[] = [
  { mode: 'nearest', input: [3, 4, 5, 2], size: [8, 15], alignCorners: false, halfPixelCenters: false },
  { mode: 'nearest', input: [2, 3, 3, 4], size: [7, 5], alignCorners: true, halfPixelCenters: false },
  { mode: 'nearest', input: [2, 5, 3, 1], size: [9, 7], alignCorners: false, halfPixelCenters: true },
  { mode: 'bilinear', input: [3, 4, 5, 2], size: [8, 15], alignCorners: false, halfPixelCenters: false },
  { mode: 'bilinear', input: [2, 3, 3, 4], size: [7, 5], alignCorners: true, halfPixelCenters: false },
  { mode: 'bilinear', input: [2, 5, 3, 1], size: [9, 7], alignCorners: false, halfPixelCenters: true },
];

const label = (c: Case) => `${c.mode} ${c.input.join('x')} → ${c.size.join('x')}${c.alignCorners ? ', alignCorners' : ''}${c.halfPixelCenters ? ', halfPixelCenters' : ''}`;

for (const c of cases) {
  test.serial(`${label(c)}: the gradient on cpu, wasm and native equals the matrix reference`, async (t) => {
    const rows = await axisMatrix(c, 0);
    const cols = await axisMatrix(c, 1);
    const x = tf.randomNormal(c.input, 0, 1, 'float32', 11) as tf.Tensor4D;
    const dy = tf.randomNormal([c.input[0], ...c.size, c.input[3]], 0, 1, 'float32', 12);
    const reference = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(separable(rows, cols, v as tf.Tensor4D), dy)));
    const forwardGap = tf.tidy(() => tf.sub(resize(c, x, c.size), separable(rows, cols, x)).abs().max().dataSync()[0]!);
    t.true(forwardGap < 1e-5, `the reference's forward pass differs from cpu's resize by ${forwardGap}`);
    const expected = reference(x).dataSync() as Float32Array;
    const xValues = x.dataSync().slice();
    const dyValues = dy.dataSync().slice();
    tf.dispose([rows, cols, x, dy]);

    for (const backend of ['cpu', 'wasm', 'native']) {
      await tf.setBackend(backend);
      const bx = tf.tensor4d(xValues, c.input);
      const bdy = tf.tensor(dyValues, [c.input[0], ...c.size, c.input[3]]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(resize(c, v as tf.Tensor4D, c.size), bdy)))(bx);
      t.deepEqual(g.shape, c.input, `${backend}: gradient shape`);
      const got = g.dataSync();
      const worst = Math.max(...Array.from(expected, (v, i) => Math.abs(v - got[i]!)));
      t.true(worst < 1e-5 * Math.max(1, ...Array.from(expected, Math.abs)), `${backend}: max difference ${worst}`);
      tf.dispose([bx, bdy, g]);
    }
  });
}
