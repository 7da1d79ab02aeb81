// parseModelJson: what a usable Syncline model.json needs, and the byte count its weights imply.
import test from 'ava';
import { ModelLoadError } from '../src/errors.js';
import { parseModelJson } from '../src/manifest.js';

const DIGEST = 'ab'.repeat(32);
const URL = 'http://h/v1/models/m/1/model.json';

function modelJson(change: (json: Record<string, any>) => void = () => {}): Record<string, unknown> {
  const json: Record<string, any> = {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential' },
    weightsManifest: [
      {
        paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
        sha256: [DIGEST, DIGEST],
        weights: [
          { name: 'dense/kernel', shape: [3, 2], dtype: 'float32' },
          { name: 'dense/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: 0 } },
        ],
      },
    ],
    syncline: { name: 'm', version: 1, jobId: 'j' },
  };
  change(json);
  return json;
}

test('a valid model.json pairs paths with digests and counts the weight bytes', (t) => {
  const parsed = parseModelJson(modelJson(), URL);
  t.deepEqual(parsed.syncline, { name: 'm', version: 1, jobId: 'j', quantization: 'float32' });
  const [group] = parsed.weightsManifest;
  t.deepEqual(group?.shards, [
    { path: 'group1-shard1of2.bin', sha256: DIGEST },
    { path: 'group1-shard2of2.bin', sha256: DIGEST },
  ]);
  // 6 float32 + 2 uint8-quantized values.
  t.is(group?.byteLength, 6 * 4 + 2);
});

const broken: [string, (json: Record<string, any>) => void, RegExp][] = [
  ['not a layers model', (j) => (j.format = 'graph-model'), /format/],
  ['no syncline block', (j) => delete j.syncline, /syncline block/],
  ['a version that is not a positive integer', (j) => (j.syncline.version = '2'), /syncline\.version/],
  ['an unknown variant', (j) => (j.syncline.quantization = 'int4'), /syncline\.quantization/],
  ['no sha256', (j) => delete j.weightsManifest[0].sha256, /sha256 is missing/],
  ['fewer digests than paths', (j) => j.weightsManifest[0].sha256.pop(), /2 paths but 1 sha256/],
  ['an uppercase digest', (j) => (j.weightsManifest[0].sha256[1] = DIGEST.toUpperCase()), /sha256\[1\]/],
  ['a string weight', (j) => (j.weightsManifest[0].weights[0].dtype = 'string'), /weights\[0\]\.dtype/],
  ['a bad shape', (j) => (j.weightsManifest[0].weights[1].shape = [-1]), /weights\[1\]\.shape/],
];

for (const [what, change, message] of broken) {
  test(`a model.json with ${what} is a ModelLoadError`, (t) => {
    const error = t.throws(() => parseModelJson(modelJson(change), URL), { instanceOf: ModelLoadError });
    t.regex(error?.message ?? '', message);
    t.is(error?.url, URL);
  });
}
