// The native backend's kernels against the cpu backend's, on one thread and on several (the
// addon splits products, convolutions and element-wise loops across threads): random shapes,
// strides and paddings (fast-check, fixed seeds), every transpose flag, fused bias and
// activations, the broadcasts element-wise ops take natively and some they hand to cpu, and
// the reuse of kernel outputs' memory. Tests run serially: each switches the global backend.
import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { loadAddon, type NativeAddon } from '../src/backends/native/addon.js';
import type { NativeBackend } from '../src/backends/native/backend.js';
import { nativeKernels } from '../src/backends/native/kernels/register.js';
import { TOLERANCE, discrepancyOn, runOn, size, tiedNonPositive, values, type Input } from './helpers/kernel-check.js';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

const discrepancy = discrepancyOn('native');
const RUNS = { seed: 20261202, numRuns: 30 };
const THREADS = [1, 3];

function setThreads(n: number): void {
  const load = loadAddon();
  if ('reason' in load) throw new Error(load.reason);
  load.addon.setThreads(n);
}

test.before(async () => {
  await tf.setBackend('cpu');
  // The native backend must be there: a machine that runs the tests builds it (ensure-deps).
  await selectBackend('native', { threads: 1 });
});

const ok = (d: number | string) => typeof d === 'number' && d < TOLERANCE;
const input = (shape: number[], seed: number): Input => ({ values: values(size(shape), seed), shape });

test.serial('every native kernel is listed once and registered on native', (t) => {
  const names = nativeKernels.map((k) => k.kernelName);
  t.is(new Set(names).size, names.length);
  for (const config of nativeKernels) t.is(tf.getKernel(config.kernelName, 'native'), config, config.kernelName);
  // The rest are the cpu backend's.
  t.truthy(tf.getKernel('Transpose', 'native'));
});

// ---- Products -------------------------------------------------------------------------------

test.serial('BatchMatMul and _FusedMatMul: every transpose flag, batches, bias and activation, 1 and 3 threads', async (t) => {
  const layouts: [number[], number[], number, number, number][] = [
    [[], [], 64, 96, 80],
    [[], [], 256, 300, 10],
    [[], [], 1, 300, 1],
    [[3], [3], 40, 50, 60],
    [[1], [3], 40, 50, 60],
    [[3], [1], 40, 50, 60],
    [[2, 3], [2, 3], 33, 20, 40],
    [[], [], 70, 0, 5],
  ];
  for (const threads of THREADS) {
    setThreads(threads);
    for (const [batchA, batchB, m, k, n] of layouts) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const a = input([...batchA, ...(transposeA ? [k, m] : [m, k])], m * k + n);
          const b = input([...batchB, ...(transposeB ? [n, k] : [k, n])], m + k * n);
          const where = `${threads} threads [${batchA}]x[${batchB}] ${m}x${k}x${n} tA=${transposeA} tB=${transposeB}`;
          t.true(ok(await discrepancy('BatchMatMul', { a, b }, { transposeA, transposeB })), where);
          for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu']) {
            const d = await discrepancy('_FusedMatMul', { a, b, bias: input([n], 5) }, { transposeA, transposeB, activation, leakyreluAlpha: 0.3 });
            t.true(ok(d), `${where} ${activation}: ${d}`);
          }
        }
      }
    }
  }
  setThreads(1);
});

test.serial('BatchMatMul: random shapes (general broadcasts go to cpu)', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        batch: fc.constantFrom<[number[], number[]]>([[], []], [[2], [2]], [[1], [3]], [[3], [1]], [[2], []], [[2, 1], [1, 3]]),
        m: fc.integer({ min: 1, max: 70 }),
        k: fc.integer({ min: 1, max: 70 }),
        n: fc.integer({ min: 1, max: 70 }),
        transposeA: fc.boolean(),
        transposeB: fc.boolean(),
        threads: fc.constantFrom(...THREADS),
        seed: fc.integer({ min: 1, max: 1 << 30 }),
      }),
      async ({ batch, m, k, n, transposeA, transposeB, threads, seed }) => {
        setThreads(threads);
        const a = input([...batch[0], ...(transposeA ? [k, m] : [m, k])], seed);
        const b = input([...batch[1], ...(transposeB ? [n, k] : [k, n])], seed + 1);
        return ok(await discrepancy('BatchMatMul', { a, b }, { transposeA, transposeB }));
      },
    ),
    RUNS,
  );
  setThreads(1);
  t.pass();
});

// ---- Convolutions ---------------------------------------------------------------------------

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
  seed: number;
}

const padArb: fc.Arbitrary<Pad> = fc.oneof(
  fc.constant<Pad>('valid'),
  fc.constant<Pad>('same'),
  fc.integer({ min: 0, max: 2 }),
  fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(([t, b, l, r]): Pad => [[0, 0], [t, b], [l, r], [0, 0]]),
);

function convInfo(c: ConvCase, dilations: [number, number] = [1, 1]): tf.backend_util.Conv2DInfo | undefined {
  try {
    const info = tf.backend_util.computeConv2DInfo([c.batch, c.inHeight, c.inWidth, c.inChannels], [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels], c.strides, dilations, c.pad);
    return info.outHeight > 0 && info.outWidth > 0 ? info : undefined;
  } catch {
    return undefined;
  }
}

const convArb = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    inHeight: fc.integer({ min: 1, max: 10 }),
    inWidth: fc.integer({ min: 1, max: 10 }),
    inChannels: fc.integer({ min: 1, max: 6 }),
    outChannels: fc.integer({ min: 1, max: 6 }),
    filterHeight: fc.integer({ min: 1, max: 4 }),
    filterWidth: fc.integer({ min: 1, max: 4 }),
    strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    pad: padArb,
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  })
  .filter((c) => convInfo(c) !== undefined);

async function convChecks(c: ConvCase): Promise<Record<string, number | string>> {
  const info = convInfo(c)!;
  const xShape = [c.batch, c.inHeight, c.inWidth, c.inChannels];
  const filterShape = [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels];
  const dyShape = [c.batch, info.outHeight, info.outWidth, c.outChannels];
  const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1] };
  const x = input(xShape, c.seed);
  const filter = input(filterShape, c.seed + 1);
  const dy = input(dyShape, c.seed + 2);
  return {
    forward: await discrepancy('Conv2D', { x, filter }, common),
    fused: await discrepancy('FusedConv2D', { x, filter, bias: input([c.outChannels], c.seed + 3) }, { ...common, activation: 'relu' }),
    filter: await discrepancy('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape }),
    input: await discrepancy('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: xShape }),
  };
}

test.serial('Conv2D, FusedConv2D and both gradients: random shapes, strides and paddings', async (t) => {
  await fc.assert(
    fc.asyncProperty(convArb, fc.constantFrom(...THREADS), async (c, threads) => {
      setThreads(threads);
      return Object.values(await convChecks(c)).every(ok);
    }),
    { ...RUNS, numRuns: 40 },
  );
  setThreads(1);
  t.pass();
});

test.serial('Conv2D: the benchmark CNN layers, dilations, and every fused activation', async (t) => {
  const cases: [ConvCase, [number, number]][] = [
    [{ batch: 4, inHeight: 28, inWidth: 28, inChannels: 1, outChannels: 32, filterHeight: 3, filterWidth: 3, strides: [1, 1], pad: 'valid', seed: 1 }, [1, 1]],
    [{ batch: 1, inHeight: 26, inWidth: 26, inChannels: 32, outChannels: 64, filterHeight: 3, filterWidth: 3, strides: [1, 1], pad: 'valid', seed: 2 }, [1, 1]],
    [{ batch: 2, inHeight: 12, inWidth: 11, inChannels: 3, outChannels: 4, filterHeight: 3, filterWidth: 2, strides: [1, 1], pad: 'same', seed: 3 }, [2, 3]],
  ];
  for (const [c, dilations] of cases) {
    const info = convInfo(c, dilations)!;
    const x = input([c.batch, c.inHeight, c.inWidth, c.inChannels], c.seed);
    const filter = input([c.filterHeight, c.filterWidth, c.inChannels, c.outChannels], c.seed + 1);
    const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations };
    for (const threads of THREADS) {
      setThreads(threads);
      t.true(ok(await discrepancy('Conv2D', { x, filter }, common)), `${JSON.stringify(c)} dilations ${dilations}`);
      for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu']) {
        const d = await discrepancy('FusedConv2D', { x, filter, bias: input([info.outChannels], 9) }, { ...common, activation, leakyreluAlpha: 0.3 });
        t.true(ok(d), `${activation}: ${d}`);
      }
      if (dilations[0] === 1 && dilations[1] === 1) t.true(Object.values(await convChecks(c)).every(ok), `gradients ${JSON.stringify(c)}`);
    }
  }
  setThreads(1);
});

// ---- Pooling --------------------------------------------------------------------------------

test.serial('MaxPool, AvgPool and their gradients: random shapes, ties and windows of negative values', async (t) => {
  await fc.assert(
    fc.asyncProperty(convArb, fc.constantFrom<'valid' | 'same' | number>('valid', 'same', 0, 1), fc.constantFrom(...THREADS), async (c, pad, threads) => {
      setThreads(threads);
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
      const x = { values: tiedNonPositive(size(xShape), c.seed), shape: xShape };
      const output = await runOn('cpu', 'MaxPool', { x }, attrs);
      const dy = input(output.shape, c.seed + 1);
      const checks = [
        await discrepancy('MaxPool', { x }, attrs),
        await discrepancy('AvgPool', { x }, attrs),
        await discrepancy('MaxPoolGrad', { dy, input: x, output }, attrs),
        await discrepancy('AvgPoolGrad', { dy, input: x }, attrs),
      ];
      return checks.every(ok);
    }),
    RUNS,
  );
  setThreads(1);
  t.pass();
});

// ---- Element-wise, reductions, softmax --------------------------------------------------------

test.serial('unary kernels: every op, small and large (threaded) inputs', async (t) => {
  const positive = new Set(['Log', 'Sqrt', 'Rsqrt', 'Reciprocal']);
  for (const { kernelName } of nativeKernels.filter((k) => ['Relu', 'Relu6', 'Elu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Neg', 'Square', 'Sqrt', 'Rsqrt', 'Abs', 'Step', 'LeakyRelu', 'Reciprocal', 'Softplus'].includes(k.kernelName))) {
    for (const [n, threads] of [[37, 1], [70_001, 3]] as const) {
      setThreads(threads);
      const raw = values(n, n + kernelName.length).map((v) => v * 8);
      const x = { values: positive.has(kernelName) ? raw.map((v) => Math.abs(v) + 0.01) : raw, shape: [n] };
      const attrs: tf.NamedAttrMap = kernelName === 'Step' ? { alpha: 0.25 } : kernelName === 'LeakyRelu' ? { alpha: 0.1 } : {};
      const d = await discrepancy(kernelName, { x }, attrs);
      t.true(ok(d), `${kernelName} (${n} values, ${threads} threads): ${d}`);
    }
  }
  setThreads(1);
});

test.serial('binary kernels: same shapes, scalars, biases, columns, middle broadcasts, and general broadcasts (cpu)', async (t) => {
  const pairs: [number[], number[]][] = [
    [[7, 5], [7, 5]],
    [[7, 5], []],
    [[], [7, 5]],
    [[7, 5], [5]],
    [[5], [7, 5]],
    [[7, 5], [7, 1]],
    [[7, 1], [1, 5]],
    [[4, 3, 5], [3, 1]],
    [[4, 3, 5], [4, 1, 5]],
    [[4, 1, 5], [1, 3, 1]],
    [[2, 3, 4, 5], [3, 4, 1]],
    [[2, 1, 4, 1], [1, 3, 1, 5]],
    [[300, 257], [257]],
    [[300, 257], [300, 1]],
    [[90_000], [90_000]],
  ];
  for (const kernel of ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference']) {
    for (const [shapeA, shapeB] of pairs) {
      for (const threads of THREADS) {
        setThreads(threads);
        const a = input(shapeA, size(shapeA) + 1);
        const b = input(shapeB, size(shapeB) + 2);
        const d = await discrepancy(kernel, { a, b }, {});
        t.true(ok(d), `${kernel} [${shapeA}] [${shapeB}] ${threads} threads: ${d}`);
      }
    }
  }
  const dy = input([6, 9], 3);
  const y = input([6, 9], 4);
  t.true(ok(await discrepancy('EluGrad', { dy, y }, {})));
  // Integers go to the cpu kernel.
  const ints = { values: Int32Array.from([1, -2, 3]), shape: [3] };
  t.true(ok(await discrepancy('Add', { a: ints, b: ints }, {})));
  setThreads(1);
});

test.serial('Sum: random shapes and axes, keepDims (contiguous axes native, others cpu)', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
      fc.constantFrom(...THREADS),
      fc.integer({ min: 1, max: 1 << 30 }),
      async (shape, pick, keepDims, threads, seed) => {
        setThreads(threads);
        const axis = shape.map((_, i) => i).filter((i) => pick[i]);
        return ok(await discrepancy('Sum', { x: input(shape, seed) }, { axis: axis.length ? axis : [0], keepDims }));
      },
    ),
    RUNS,
  );
  setThreads(3);
  // Large enough to be split across threads: a bias gradient and a per-row sum.
  t.true(ok(await discrepancy('Sum', { x: input([4096, 33], 1) }, { axis: [0], keepDims: false })));
  t.true(ok(await discrepancy('Sum', { x: input([3, 4096, 33], 2) }, { axis: [1], keepDims: false })));
  t.true(ok(await discrepancy('Sum', { x: input([4096, 33], 3) }, { axis: [1], keepDims: true })));
  setThreads(1);
});

test.serial('Mean: random shapes and axes, keepDims (contiguous axes native, others cpu), and batch-norm moments', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
      fc.constantFrom(...THREADS),
      fc.integer({ min: 1, max: 1 << 30 }),
      async (shape, pick, keepDims, threads, seed) => {
        setThreads(threads);
        const axis = shape.map((_, i) => i).filter((i) => pick[i]);
        return ok(await discrepancy('Mean', { x: input(shape, seed) }, { axis: axis.length ? axis : [0], keepDims }));
      },
    ),
    RUNS,
  );
  setThreads(3);
  // Batch norm's moments: over the batch of a dense layer's outputs, and over batch and pixels of a convolution's.
  t.true(ok(await discrepancy('Mean', { x: input([64, 3136], 4) }, { axis: [0], keepDims: true })));
  t.true(ok(await discrepancy('Mean', { x: input([64, 14, 14, 32], 5) }, { axis: [0, 1, 2], keepDims: true })));
  // A per-sample mean (the last axis) and a middle axis.
  t.true(ok(await discrepancy('Mean', { x: input([300, 10], 6) }, { axis: [1], keepDims: false })));
  t.true(ok(await discrepancy('Mean', { x: input([3, 4096, 33], 7) }, { axis: [1], keepDims: false })));
  setThreads(1);
});

test.serial('Softmax over the last axis', async (t) => {
  for (const shape of [[7, 10], [3, 4, 5], [1], [40_000, 3]]) {
    const x = { values: values(size(shape), 5).map((v) => v * 20), shape };
    t.true(ok(await discrepancy('Softmax', { logits: x }, { dim: -1 })), `[${shape}]`);
  }
});

test.serial('FusedBatchNorm: per-channel and single parameters, with and without scale and offset, exactly as cpu', async (t) => {
  const params = (channels: number, seed: number, variance = false) => ({ values: values(channels, seed).map((v) => (variance ? v + 1.5 : v)), shape: [channels] });
  // Counts the addon's batch norms, so that the cases meant to run natively are seen to.
  const backend = tf.findBackend('native') as NativeBackend;
  const addon = backend.addon;
  let nativeCalls = 0;
  const counted = (...args: Parameters<NativeAddon['batchNorm']>) => (nativeCalls++, addon.batchNorm(...args));
  Object.assign(backend, { addon: new Proxy({}, { get: (_, key) => (key === 'batchNorm' ? counted : Reflect.get(addon, key)) }) });
  t.teardown(() => Object.assign(backend, { addon }));
  for (const threads of THREADS) {
    setThreads(threads);
    for (const shape of [[64, 3136], [16, 14, 14, 64], [3, 5], [2, 7, 7, 1], [40_000, 3]]) {
      const c = shape[shape.length - 1]!;
      const x = input(shape, 11);
      const full = { x, mean: params(c, 12), variance: params(c, 13, true), scale: params(c, 14), offset: params(c, 15) };
      // Bit for bit: the same double arithmetic as the cpu kernel.
      t.is(await discrepancy('FusedBatchNorm', full, { varianceEpsilon: 0.001 }), 0, `[${shape}], ${threads} threads`);
      t.is(await discrepancy('FusedBatchNorm', { x, mean: full.mean, variance: full.variance }, { varianceEpsilon: 1e-5 }), 0, `[${shape}] without scale and offset`);
      t.is(await discrepancy('FusedBatchNorm', { ...full, scale: params(1, 16), offset: params(1, 17) }, {}), 0, `[${shape}] with one scale and offset, default epsilon`);
    }
  }
  setThreads(1);
  t.is(nativeCalls, 2 * 5 * 3);
  // Parameters spanning more than the last axis (a cyclic broadcast) go to the cpu kernel.
  const x = input([4, 6], 18);
  t.is(await discrepancy('FusedBatchNorm', { x, mean: input([12], 19), variance: params(12, 20, true) }, { varianceEpsilon: 0.001 }), 0);
  t.is(nativeCalls, 2 * 5 * 3);
});

// ---- Memory reuse -----------------------------------------------------------------------------

test.serial("a kernel output's array is reused only when nothing outside can see it", async (t) => {
  await tf.setBackend('native');
  const a = tf.tensor1d([1, 2, 3, 4]);
  // Read out, then disposed: the caller's array must keep its values while new outputs are made.
  const sum = tf.add(a, a);
  const read = sum.dataSync();
  sum.dispose();
  const other = tf.mul(a, tf.scalar(10));
  t.deepEqual(Array.from(read), [2, 4, 6, 8]);
  // A contiguous slice is a view: disposing its source must not let the source's array be reused.
  const source = tf.add(a, tf.scalar(1));
  const view = tf.slice(source, [1], [2]);
  source.dispose();
  const next = tf.sub(a, tf.scalar(100));
  t.deepEqual(Array.from(view.dataSync()), [3, 4]);
  tf.dispose([a, other, view, next]);
});

// ---- Recurrent cells' ops: clipping, comparisons, select, split and concat --------------------

test.serial('ClipByValue, ZerosLike, comparisons, logical ops and Select', async (t) => {
  const x = { values: values(300, 11).map((v) => v * 3), shape: [20, 15] };
  t.true(ok(await discrepancy('ClipByValue', { x }, { clipValueMin: -1, clipValueMax: 0.5 })));
  t.true(ok(await discrepancy('ZerosLike', { x }, {})));
  const scalar = { values: Float32Array.from([0.25]), shape: [] };
  const row = input([15], 12);
  for (const kernel of ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual']) {
    for (const b of [scalar, row, x, { values: x.values.map((v, i) => (i % 3 ? v : v + 1)), shape: x.shape }]) {
      const d = await discrepancy(kernel, { a: x, b }, {});
      t.true(ok(d), `${kernel} [${x.shape}] [${b.shape}]: ${d}`);
    }
  }
  // Logical ops and Select take bool tensors, made here by a comparison on each backend.
  const results: Record<string, number[][]> = {};
  for (const backend of ['cpu', 'native']) {
    await tf.setBackend(backend);
    const xt = tf.tensor(x.values, x.shape);
    const p = tf.greater(xt, 0);
    const q = tf.less(xt, tf.tensor(row.values, row.shape));
    const outs = [tf.logicalAnd(p, q), tf.logicalOr(p, q), tf.logicalAnd(p, tf.scalar(true)), tf.where(p, xt, tf.neg(xt))];
    results[backend] = outs.map((o) => Array.from(o.dataSync()));
    tf.dispose([xt, p, q, ...outs]);
  }
  t.deepEqual(results.native, results.cpu);
});

test.serial('SplitV and Concat along every axis', async (t) => {
  const x = input([4, 6, 5], 21);
  for (const [axis, sizes] of [[0, [1, 3]], [1, [2, 3, 1]], [2, [4, -1]], [-1, 5]] as const) {
    await tf.setBackend('native');
    const xt = tf.tensor(x.values, x.shape);
    const parts = tf.split(xt, sizes as number | number[], axis);
    await tf.setBackend('cpu');
    const xc = tf.tensor(x.values, x.shape);
    const expected = tf.split(xc, sizes as number | number[], axis);
    t.deepEqual(parts.map((p) => [p.shape, Array.from(p.dataSync())]), expected.map((p) => [p.shape, Array.from(p.dataSync())]), `axis ${axis}`);
    // And back together.
    const joined = tf.concat(expected, axis);
    await tf.setBackend('native');
    const joinedNative = tf.concat(parts, axis);
    t.deepEqual(Array.from(joinedNative.dataSync()), Array.from(joined.dataSync()));
    t.deepEqual(Array.from(joinedNative.dataSync()), Array.from(x.values));
    tf.dispose([xt, xc, joined, joinedNative, ...parts, ...expected]);
  }
});

test.serial('Tile: random ranks, shapes and repetitions (batch norm gradients tile [1,1,1,C]), exactly as cpu', async (t) => {
  const cases = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 2 ** 30 })).chain(([rank, seed]) =>
    fc.tuple(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: rank, maxLength: rank }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: rank, maxLength: rank }), fc.constant(seed)),
  );
  const fixed: [number[], number[], number][] = [
    [[1, 1, 1, 32], [64, 14, 14, 1], 1],
    [[1, 3136], [64, 1], 2],
    [[7], [1], 3],
    [[3, 1], [2, 5], 4],
  ];
  const check = async ([shape, reps, seed]: [number[], number[], number]) => {
    const x = input(shape, seed);
    const results: Record<string, { shape: number[]; values: number[] }> = {};
    for (const backend of ['cpu', 'native']) {
      await tf.setBackend(backend);
      const y = tf.tile(tf.tensor(x.values, x.shape), reps);
      results[backend] = { shape: y.shape, values: Array.from(y.dataSync()) };
      y.dispose();
    }
    return JSON.stringify(results.native) === JSON.stringify(results.cpu);
  };
  for (const c of fixed) t.true(await check(c), `shape ${c[0]} reps ${c[1]}`);
  await fc.assert(fc.asyncProperty(cases, check), RUNS);
  t.is(tf.getKernel('Tile', 'native')?.kernelName, 'Tile');
});
