// Our wasm training kernels against the cpu backend's, over random shapes, strides and
// paddings (fast-check, fixed seeds) and tables for the cases random draws rarely reach:
// every transpose flag of BatchMatMul, and convolutions big enough to be split into chunks.
// Tests run serially: each switches the global backend.
import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { registerTrainingKernels, trainingKernels } from '../src/kernels/register.js';
import { TOLERANCE, discrepancyOn, runOn, size, tiedNonPositive, values } from './helpers/kernel-check.js';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

test.before(async () => {
  await tf.setBackend('cpu');
  await selectBackend('wasm');
});

const discrepancy = discrepancyOn('wasm');

const RUNS = { seed: 20261127, numRuns: 40 };

test.serial('every kernel is listed once and registering twice changes nothing', (t) => {
  const keys = trainingKernels.map((k) => `${k.config.backendName}/${k.config.kernelName}`);
  t.is(new Set(keys).size, keys.length);
  t.deepEqual(registerTrainingKernels('wasm'), { added: [], replaced: [], kept: [] });
  for (const { config } of trainingKernels.filter((k) => k.config.backendName === 'wasm')) t.is(tf.getKernel(config.kernelName, 'wasm'), config, config.kernelName);
});

// ---- BatchMatMul -------------------------------------------------------------------------

function matMulInputs(batchA: number[], batchB: number[], m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, seed: number) {
  const aShape = [...batchA, ...(transposeA ? [k, m] : [m, k])];
  const bShape = [...batchB, ...(transposeB ? [n, k] : [k, n])];
  return {
    a: { values: values(aShape.reduce((x, y) => x * y, 1), seed), shape: aShape },
    b: { values: values(bShape.reduce((x, y) => x * y, 1), seed + 1), shape: bShape },
  };
}

test.serial('BatchMatMul: every transpose flag, 2-D, batched and broadcast', async (t) => {
  const layouts: [number[], number[], number, number, number][] = [
    [[], [], 64, 96, 80],
    [[], [], 256, 256, 10],
    [[], [], 1, 300, 1],
    [[3], [3], 40, 50, 60],
    [[1], [3], 40, 50, 60],
    [[3], [1], 40, 50, 60],
    [[3], [], 40, 50, 60],
    [[2, 3], [2, 3], 33, 20, 40],
    [[4], [4], 5, 4, 6], // small enough for the scalar path
  ];
  for (const [batchA, batchB, m, k, n] of layouts) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const d = await discrepancy('BatchMatMul', matMulInputs(batchA, batchB, m, k, n, transposeA, transposeB, m * k + n), { transposeA, transposeB });
        t.true(typeof d === 'number' && d < TOLERANCE, `[${batchA}]x[${batchB}] ${m}x${k}x${n} tA=${transposeA} tB=${transposeB}: ${d}`);
      }
    }
  }
});

test.serial('BatchMatMul: random shapes', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        batch: fc.constantFrom<[number[], number[]]>([[], []], [[2], [2]], [[1], [3]], [[3], [1]], [[2], []]),
        m: fc.integer({ min: 1, max: 70 }),
        k: fc.integer({ min: 1, max: 70 }),
        n: fc.integer({ min: 1, max: 70 }),
        transposeA: fc.boolean(),
        transposeB: fc.boolean(),
        seed: fc.integer({ min: 1, max: 1 << 30 }),
      }),
      async ({ batch, m, k, n, transposeA, transposeB, seed }) => {
        const d = await discrepancy('BatchMatMul', matMulInputs(batch[0], batch[1], m, k, n, transposeA, transposeB, seed), { transposeA, transposeB });
        return typeof d === 'number' && d < TOLERANCE;
      },
    ),
    RUNS,
  );
  t.pass();
});

// ---- Convolutions ------------------------------------------------------------------------

interface ConvCase {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strides: [number, number];
  pad: Pad;
  dimRoundingMode: Rounding;
  seed: number;
}

const padArb: fc.Arbitrary<Pad> = fc.oneof(
  fc.constant<Pad>('valid'),
  fc.constant<Pad>('same'),
  fc.integer({ min: 0, max: 2 }),
  fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(([t, b, l, r]): Pad => [[0, 0], [t, b], [l, r], [0, 0]]),
);

function convArb(maxChannels: number): fc.Arbitrary<ConvCase> {
  return fc
    .record({
      batch: fc.integer({ min: 1, max: 3 }),
      inHeight: fc.integer({ min: 1, max: 10 }),
      inWidth: fc.integer({ min: 1, max: 10 }),
      inChannels: fc.integer({ min: 1, max: maxChannels }),
      outChannels: fc.integer({ min: 1, max: maxChannels }),
      filterHeight: fc.integer({ min: 1, max: 4 }),
      filterWidth: fc.integer({ min: 1, max: 4 }),
      strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      pad: padArb,
      dimRoundingMode: fc.constantFrom<Rounding>(undefined, 'floor', 'ceil', 'round'),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
    })
    .map((c) => (typeof c.pad === 'number' ? c : { ...c, dimRoundingMode: undefined }))
    .filter((c) => {
      const info = convInfo(c, c.outChannels, false);
      return info !== undefined && info.outHeight > 0 && info.outWidth > 0;
    });
}

/** The geometry, or undefined where TF.js rejects the combination. */
function convInfo(c: ConvCase, filterChannels: number, depthwise: boolean): tf.backend_util.Conv2DInfo | undefined {
  try {
    return tf.backend_util.computeConv2DInfo([c.batch, c.inHeight, c.inWidth, c.inChannels], [c.filterHeight, c.filterWidth, c.inChannels, filterChannels], c.strides, 1, c.pad, c.dimRoundingMode, depthwise);
  } catch {
    return undefined;
  }
}

async function convGradients(c: ConvCase): Promise<{ filter: number | string; input: number | string }> {
  const info = convInfo(c, c.outChannels, false)!;
  const xShape = [c.batch, c.inHeight, c.inWidth, c.inChannels];
  const filterShape = [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels];
  const dyShape = [c.batch, info.outHeight, info.outWidth, c.outChannels];
  const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', ...(c.dimRoundingMode ? { dimRoundingMode: c.dimRoundingMode } : {}) };
  const x = { values: values(size(xShape), c.seed), shape: xShape };
  const dy = { values: values(size(dyShape), c.seed + 1), shape: dyShape };
  const filter = { values: values(size(filterShape), c.seed + 2), shape: filterShape };
  return {
    filter: await discrepancy('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape }),
    input: await discrepancy('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: xShape }),
  };
}

test.serial('Conv2DBackpropFilter and Conv2DBackpropInput: random shapes, strides and paddings', async (t) => {
  await fc.assert(
    fc.asyncProperty(convArb(5), async (c) => {
      const d = await convGradients(c);
      return typeof d.filter === 'number' && d.filter < TOLERANCE && typeof d.input === 'number' && d.input < TOLERANCE;
    }),
    { ...RUNS, numRuns: 60 },
  );
  t.pass();
});

test.serial('Conv2DBackpropFilter and Conv2DBackpropInput: convolutions split into several chunks', async (t) => {
  const cases: ConvCase[] = [
    // 10 x 24 x 24 output pixels: two chunks, the second ragged.
    { batch: 10, inHeight: 26, inWidth: 26, inChannels: 3, outChannels: 4, filterHeight: 3, filterWidth: 3, strides: [1, 1], pad: 'valid', dimRoundingMode: undefined, seed: 7 },
    // One image wider than a chunk, strided, padded.
    { batch: 2, inHeight: 40, inWidth: 150, inChannels: 2, outChannels: 3, filterHeight: 3, filterWidth: 5, strides: [1, 2], pad: 'same', dimRoundingMode: undefined, seed: 8 },
  ];
  for (const c of cases) {
    const d = await convGradients(c);
    t.true(typeof d.filter === 'number' && d.filter < TOLERANCE, `filter ${JSON.stringify(c)}: ${d.filter}`);
    t.true(typeof d.input === 'number' && d.input < TOLERANCE, `input ${JSON.stringify(c)}: ${d.input}`);
  }
});

test.serial('DepthwiseConv2dNative gradients: random shapes, multipliers, strides and paddings', async (t) => {
  await fc.assert(
    fc.asyncProperty(convArb(4), fc.integer({ min: 1, max: 3 }), async (c0, multiplier) => {
      const c = { ...c0, outChannels: c0.inChannels * multiplier };
      const info = convInfo(c, multiplier, true);
      if (!info) return true;
      const xShape = [c.batch, c.inHeight, c.inWidth, c.inChannels];
      const filterShape = [c.filterHeight, c.filterWidth, c.inChannels, multiplier];
      const dyShape = [c.batch, info.outHeight, info.outWidth, c.outChannels];
      const common = { strides: c.strides, pad: c.pad, dilations: [1, 1], ...(c.dimRoundingMode ? { dimRoundingMode: c.dimRoundingMode } : {}) };
      const x = { values: values(size(xShape), c.seed), shape: xShape };
      const dy = { values: values(size(dyShape), c.seed + 1), shape: dyShape };
      const filter = { values: values(size(filterShape), c.seed + 2), shape: filterShape };
      const dFilter = await discrepancy('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...common, filterShape });
      const dInput = await discrepancy('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...common, inputShape: xShape });
      return typeof dFilter === 'number' && dFilter < TOLERANCE && typeof dInput === 'number' && dInput < TOLERANCE;
    }),
    RUNS,
  );
  t.pass();
});

test.serial('DepthwiseConv2dNative gradients with dilations: adjoint of the cpu forward convolution', async (t) => {
  // The cpu gradient kernels ignore dilations (TF.js refuses dilated gradients), so the
  // reference is the identity <dy, conv(x, w)> = <dw(x, dy), w> = <x, dx(dy, w)>.
  const cases: [number, number, number, number, number, [number, number], Pad][] = [
    [2, 9, 8, 3, 3, [2, 2], 'valid'],
    [1, 10, 10, 2, 2, [3, 2], 'same'],
    [2, 7, 9, 2, 3, [2, 1], 1],
  ];
  for (const [batch, h, w, channels, multiplier, dilations, pad] of cases) {
    const xShape = [batch, h, w, channels];
    const filterShape = [3, 3, channels, multiplier];
    await tf.setBackend('cpu');
    const x = tf.tensor4d(values(size(xShape), h), xShape as [number, number, number, number]);
    const f = tf.tensor4d(values(size(filterShape), w), filterShape as [number, number, number, number]);
    const y = tf.depthwiseConv2d(x, f, 1, pad, 'NHWC', dilations);
    const dy = tf.tensor(values(y.size, channels), y.shape);
    const forward = tf.sum(tf.mul(dy, y)).dataSync()[0]!;
    const xs = { values: x.dataSync() as Float32Array, shape: xShape };
    const fs = { values: f.dataSync() as Float32Array, shape: filterShape };
    const dys = { values: dy.dataSync() as Float32Array, shape: y.shape };
    tf.dispose([x, f, y, dy]);
    const attrs = { strides: 1, pad, dilations };
    const dw = await runOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x: xs, dy: dys }, { ...attrs, filterShape });
    const dx = await runOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy: dys, filter: fs }, { ...attrs, inputShape: xShape });
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i]!, 0);
    t.true(Math.abs(dot(dw.values, fs.values) - forward) < 1e-4 * Math.max(1, Math.abs(forward)), `filter ${dilations} ${pad}: ${dot(dw.values, fs.values)} vs ${forward}`);
    t.true(Math.abs(dot(dx.values, xs.values) - forward) < 1e-4 * Math.max(1, Math.abs(forward)), `input ${dilations} ${pad}`);
  }
});

// ---- Pooling -----------------------------------------------------------------------------

test.serial('MaxPoolGrad: random shapes, with ties and windows of negative values', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      convArb(5),
      fc.constantFrom<'valid' | 'same' | number>('valid', 'same', 0, 1),
      async (c, pad) => {
        const filterSize: [number, number] = [c.filterHeight, c.filterWidth];
        let info: tf.backend_util.Conv2DInfo;
        try {
          info = tf.backend_util.computePool2DInfo([c.batch, c.inHeight, c.inWidth, c.inChannels], filterSize, c.strides, 1, pad, typeof pad === 'number' ? 'floor' : undefined);
        } catch {
          return true;
        }
        if (info.outHeight <= 0 || info.outWidth <= 0 || (typeof pad === 'number' && pad >= Math.min(...filterSize))) return true;
        const xShape = [c.batch, c.inHeight, c.inWidth, c.inChannels];
        const attrs = { filterSize, strides: c.strides, pad, ...(typeof pad === 'number' ? { dimRoundingMode: 'floor' } : {}) };
        const input = { values: tiedNonPositive(size(xShape), c.seed), shape: xShape };
        const output = await runOn('cpu', 'MaxPool', { x: input }, attrs);
        const dy = { values: values(size(output.shape), c.seed + 1), shape: output.shape };
        const d = await discrepancy('MaxPoolGrad', { dy, input, output }, attrs);
        return typeof d === 'number' && d < TOLERANCE;
      },
    ),
    RUNS,
  );
  t.pass();
});

// ---- UnsortedSegmentSum ------------------------------------------------------------------

// Segment ids of rank 1, as a gather's gradient passes them (the cpu kernel reads higher ranks
// differently from TensorFlow; ours follows TensorFlow).
test.serial('UnsortedSegmentSum: random shapes, ids out of range dropped, float32 and int32', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        idsShape: fc.tuple(fc.integer({ min: 1, max: 12 })),
        rowShape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 3 }),
        numSegments: fc.integer({ min: 1, max: 8 }),
        int32: fc.boolean(),
        seed: fc.integer({ min: 1, max: 1 << 30 }),
      }),
      async ({ idsShape, rowShape, numSegments, int32, seed }) => {
        const ids = Int32Array.from(values(size(idsShape), seed), (v) => Math.floor((v + 1) * (numSegments + 1)) - 1);
        const xShape = [...idsShape, ...rowShape];
        const raw = values(size(xShape), seed + 1);
        const x = int32 ? Int32Array.from(raw, (v) => Math.round(v * 100)) : raw;
        const d = await discrepancy('UnsortedSegmentSum', { x: { values: x, shape: xShape }, segmentIds: { values: ids, shape: idsShape } }, { numSegments });
        return typeof d === 'number' && d < TOLERANCE;
      },
    ),
    RUNS,
  );
  t.pass();
});

// ---- Sum -----------------------------------------------------------------------------------

test.serial('Sum: random shapes and axes (leading axes ours, the rest the backend own), keepDims', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 1, max: 1 << 30 }),
      async (shape, pick, keepDims, int32, seed) => {
        const axis = shape.map((_, i) => i).filter((i) => pick[i]);
        const raw = values(size(shape), seed);
        const x = { values: int32 ? Int32Array.from(raw, (v) => Math.round(v * 100)) : raw, shape };
        const d = await discrepancy('Sum', { x }, { axis: axis.length ? axis : [0], keepDims });
        return typeof d === 'number' && d < TOLERANCE;
      },
    ),
    RUNS,
  );
  t.pass();
});

// ---- Cast ----------------------------------------------------------------------------------

test.serial('Cast: to the same type (shared) and conversions (the backend own)', async (t) => {
  const floats = { values: Float32Array.from([-2.5, -1, 0, 0.5, 3.75]), shape: [5] };
  const ints = { values: Int32Array.from([-3, 0, 1, 7, 2]), shape: [5] };
  for (const [x, dtype] of [[floats, 'float32'], [floats, 'int32'], [floats, 'bool'], [ints, 'int32'], [ints, 'float32'], [ints, 'bool']] as const) {
    const d = await discrepancy('Cast', { x }, { dtype });
    t.true(typeof d === 'number' && d === 0, `${x.values.constructor.name} to ${dtype}: ${d}`);
  }
  // The shared result outlives its input.
  await tf.setBackend('wasm');
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.cast(x, 'float32');
  x.dispose();
  t.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  y.dispose();
});
