// quantizeModel against TF.js's own reader: the variants decode (tf.io.decodeWeights) to the
// float32 weights within each format's rounding, keep non-float weights as they are, and refuse
// a source shard that does not match its digest.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import test from 'ava';
import { float16Bits, quantizeModel, QuantizationSourceError, uint8Range, type Quantization } from '../src/registry/quantize.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A published model.json and its single shard: float32 kernel and bias, an int32 step counter. */
function published(kernel: Float32Array, bias: Float32Array) {
  const step = new Int32Array([7, -3]);
  const shard = new Uint8Array(kernel.byteLength + bias.byteLength + step.byteLength);
  shard.set(new Uint8Array(kernel.buffer), 0);
  shard.set(new Uint8Array(bias.buffer), kernel.byteLength);
  shard.set(new Uint8Array(step.buffer), kernel.byteLength + bias.byteLength);
  const modelJson = {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential' },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        sha256: [sha256(shard)],
        weights: [
          { name: 'dense/kernel', shape: [kernel.length / 2, 2], dtype: 'float32' },
          { name: 'dense/bias', shape: [bias.length], dtype: 'float32' },
          { name: 'step', shape: [2], dtype: 'int32' },
        ],
      },
    ],
    syncline: { jobId: 'j' },
  };
  return { modelJson, shard, step };
}

async function decode(files: Map<string, Uint8Array>): Promise<{ json: any; values: Record<string, Float32Array | Int32Array> }> {
  const json = JSON.parse(new TextDecoder().decode(files.get('model.json')));
  const [group] = json.weightsManifest;
  const bytes = Buffer.concat(group.paths.map((p: string) => files.get(p)!));
  group.paths.forEach((p: string, i: number) => {
    if (sha256(files.get(p)!) !== group.sha256[i]) throw new Error(`digest of ${p} is wrong`);
  });
  const tensors = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), group.weights);
  const values: Record<string, Float32Array | Int32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    values[name] = t.dataSync() as Float32Array | Int32Array;
    t.dispose();
  }
  return { json, values };
}

function random(count: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 2 * scale;
  });
}

for (const dtype of ['uint8', 'float16'] satisfies Quantization[]) {
  test(`the ${dtype} variant decodes, through TF.js, to the weights within its rounding`, async (t) => {
    const kernel = random(2000, 1, 0.3);
    const bias = Float32Array.from([0, 0.5, 0.25, -0.125, 0.0625]);
    const { modelJson, shard, step } = published(kernel, bias);
    const files = await quantizeModel(modelJson, async (p) => (p === 'group1-shard1of1.bin' ? shard : undefined), dtype);
    const { json, values } = await decode(files);
    t.is(json.syncline.quantization, dtype);
    t.deepEqual(json.syncline.jobId, 'j');
    t.deepEqual(json.modelTopology, modelJson.modelTopology);
    const [kernelSpec, biasSpec, stepSpec] = json.weightsManifest[0].weights;
    t.is(kernelSpec.quantization.dtype, dtype);
    t.is(stepSpec.quantization, undefined);
    t.deepEqual(Array.from(values.step!), Array.from(step));

    const bytesPerValue = dtype === 'uint8' ? 1 : 2;
    const shardBytes = [...files].filter(([p]) => p !== 'model.json').reduce((n, [, b]) => n + b.byteLength, 0);
    t.is(shardBytes, (kernel.length + bias.length) * bytesPerValue + step.byteLength);

    for (const [name, original, spec] of [['dense/kernel', kernel, kernelSpec], ['dense/bias', bias, biasSpec]] as const) {
      const decoded = values[name]!;
      // uint8: half a step of the affine grid; float16: half an ulp, 2^-11 relative.
      const allowed = (v: number) => (dtype === 'uint8' ? spec.quantization.scale / 2 + 1e-7 : Math.abs(v) * 2 ** -11 + 1e-7);
      const worst = original.reduce((w, v, i) => Math.max(w, Math.abs(decoded[i]! - v) - allowed(v)), -Infinity);
      t.true(worst <= 0, `${name}: an error exceeds the rounding by ${worst}`);
    }
    // The nudged uint8 grid holds zero exactly, so zero biases (and ReLU zeros) stay zero.
    t.is(values['dense/bias']![0], 0);
  });
}

test('uint8Range nudges min onto the grid, and copes with constant and one-signed tensors', (t) => {
  const { scale, min } = uint8Range(Float32Array.from([-1, 0.2, 3]));
  t.is(scale, 4 / 255);
  t.is(Math.round(-min / scale) * scale, -min);
  t.deepEqual(uint8Range(Float32Array.from([2, 2])), { scale: 1, min: 2 });
  t.deepEqual(uint8Range(Float32Array.from([1, 3])), { scale: 2 / 255, min: 1 });
});

test('float16Bits rounds to nearest even and handles the edges', (t) => {
  t.is(float16Bits(1), 0x3c00);
  t.is(float16Bits(-2), 0xc000);
  t.is(float16Bits(65504), 0x7bff);
  t.is(float16Bits(65520), 0x7c00);
  t.is(float16Bits(1e9), 0x7c00);
  t.is(float16Bits(2 ** -24), 0x0001);
  t.is(float16Bits(2 ** -26), 0);
  t.is(float16Bits(1 + 2 ** -11), 0x3c00);
  t.is(float16Bits(1 + 3 * 2 ** -11), 0x3c02);
  t.is(float16Bits(-0), 0x8000);
  t.is(float16Bits(Infinity), 0x7c00);
  t.is(float16Bits(NaN) & 0x7c00, 0x7c00);
  t.true((float16Bits(NaN) & 0x3ff) !== 0);
});

test('a source shard that does not match its digest is refused', async (t) => {
  const { modelJson, shard } = published(random(10, 2), Float32Array.from([1]));
  const corrupt = shard.slice();
  corrupt[3] = corrupt[3]! ^ 0xff;
  await t.throwsAsync(quantizeModel(modelJson, async () => corrupt, 'uint8'), { instanceOf: QuantizationSourceError, message: /sha256/ });
  await t.throwsAsync(quantizeModel(modelJson, async () => undefined, 'uint8'), { instanceOf: QuantizationSourceError, message: /missing/ });
});
