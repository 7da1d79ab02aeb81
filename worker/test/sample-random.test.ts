// Per-sample randomness: Philox against its published known answers, draws that depend only on
// (seed, epoch, sample, stream) and never on the batch a sample sits in, and the statistics of
// the uniform and normal draws.
import test from 'ava';
import fc from 'fast-check';
import { philox4x32 } from '../src/random/philox.js';
import { loadAddon } from '../src/backends/native/addon.js';
import { Streams, dropoutMask, dropoutMaskHere, fillNormal, fillUniform, sampleNormals, sampleUniforms, type DrawKey } from '../src/random/sample-random.js';

test('Philox4x32-10 matches the Random123 known-answer vectors', (t) => {
  const out = new Uint32Array(4);
  const cases: [number[], number[], number[]][] = [
    [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
  ];
  for (const [c, k, expected] of cases) {
    philox4x32(c[0]!, c[1]!, c[2]!, c[3]!, k[0]!, k[1]!, out);
    t.deepEqual([...out], expected);
  }
});

const key = (over: Partial<DrawKey> = {}): DrawKey => ({ seed: 7, epoch: 0, sample: 12, stream: Streams.dropout(0, 0, 1), ...over });

test('a sample draws the same numbers in any batch, at any row, and more draws extend the sequence', (t) => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 5 }),
      (samples, perSample, epoch) => {
        const stream = Streams.latent(1);
        const batch = sampleNormals(3, epoch, samples, stream, perSample);
        const reversed = sampleNormals(3, epoch, [...samples].reverse(), stream, perSample);
        samples.forEach((sample, row) => {
          const alone = new Float32Array(perSample + 3);
          fillNormal({ seed: 3, epoch, sample, stream }, alone);
          const mine = batch.subarray(row * perSample, (row + 1) * perSample);
          const back = samples.length - 1 - row;
          if (!mine.every((v, i) => Object.is(v, alone[i]) && Object.is(v, reversed[back * perSample + i]))) throw new Error(`sample ${sample} differs`);
        });
      },
    ),
  );
  t.pass();
});

test('seed, epoch, sample and stream each change every draw; equal keys give equal draws', (t) => {
  const draw = (k: DrawKey) => {
    const out = new Float32Array(64);
    fillUniform(k, out);
    return out;
  };
  const base = draw(key());
  t.deepEqual(draw(key()), base);
  for (const other of [key({ seed: 8 }), key({ epoch: 1 }), key({ sample: 13 }), key({ stream: Streams.dropout(0, 0, 2) }), key({ stream: Streams.dropout(1, 0, 1) }), key({ stream: Streams.dropout(0, 1, 1) })]) {
    const d = draw(other);
    const same = d.filter((v, i) => v === base[i]).length;
    t.true(same <= 1, `${JSON.stringify(other)} shares ${same} of 64 draws`);
  }
  t.throws(() => Streams.dropout(16, 0, 0), { instanceOf: RangeError });
  t.throws(() => Streams.dropout(0, 0, 70_000), { instanceOf: RangeError });
});

test('uniforms are uniform in [0, 1) and normals standard normal', (t) => {
  const n = 200_000;
  const u = sampleUniforms(1, 2, Array.from({ length: 1000 }, (_, i) => i), Streams.augmentation(0), n / 1000);
  t.true(u.every((v) => v >= 0 && v < 1));
  const bins = new Float64Array(20);
  for (const v of u) bins[Math.floor(v * 20)]!++;
  // Chi-square with 19 degrees of freedom: the 0.999 quantile is 43.8.
  const expected = n / 20;
  const chi2 = bins.reduce((s, b) => s + (b - expected) ** 2 / expected, 0);
  t.true(chi2 < 43.8, `chi-square ${chi2}`);

  const z = sampleNormals(1, 2, Array.from({ length: 1000 }, (_, i) => i), Streams.latent(0), n / 1000);
  let mean = 0;
  for (const v of z) mean += v;
  mean /= n;
  let variance = 0;
  let beyond2 = 0;
  for (const v of z) {
    variance += (v - mean) ** 2;
    if (Math.abs(v) > 2) beyond2++;
  }
  variance /= n;
  // Standard errors: 1/sqrt(n) ≈ 0.0022 for the mean, sqrt(2/n) ≈ 0.0032 for the variance.
  t.true(Math.abs(mean) < 0.012, `mean ${mean}`);
  t.true(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
  // P(|Z| > 2) = 0.0455.
  t.true(Math.abs(beyond2 / n - 0.0455) < 0.003, `P(|z| > 2) ≈ ${beyond2 / n}`);
});

test.serial('dropout masks: the native addon draws what the JavaScript draws, bit for bit, on 1 and 3 threads', (t) => {
  const load = loadAddon();
  // A machine that runs the tests builds the addon (ensure-deps); without it dropoutMask is dropoutMaskHere.
  if (!('addon' in load)) return t.fail(load.reason);
  try {
    for (const threads of [1, 3]) {
      load.addon.setThreads(threads);
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 1, max: 3000 }),
          fc.constantFrom(0, 0.1, 0.3, 0.5, 0.999, 2 ** -24),
          fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          fc.integer({ min: 0, max: 300 }),
          fc.boolean(),
          (samples, perSample, rate, seed, epoch, typed) => {
            const stream = Streams.dropout(1, 2, 5);
            const keys = typed ? Uint32Array.from(samples) : samples;
            const native = dropoutMask(seed, epoch, keys, stream, perSample, rate);
            const here = dropoutMaskHere(seed, epoch, keys, stream, perSample, rate);
            return native.length === here.length && native.every((v, i) => Object.is(v, here[i]));
          },
        ),
        { seed: 20261203, numRuns: 60 },
      );
    }
    // A mask is 0 or 1 / (1 - rate), and keeps about 1 - rate of the units.
    const mask = dropoutMask(5, 1, Uint32Array.from({ length: 256 }, (_, i) => i), Streams.dropout(1, 0, 2), 12544, 0.3);
    const kept = mask.filter((v) => v !== 0);
    t.true(kept.every((v) => v === Math.fround(1 / 0.7)));
    t.true(Math.abs(kept.length / mask.length - 0.7) < 0.002, `kept ${kept.length / mask.length}`);
  } finally {
    load.addon.setThreads(1);
  }
  t.pass();
});
