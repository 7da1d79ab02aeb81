// Quantized variants end to end in Node: a coordinator derives float16 and uint8 from a
// trained MNIST MLP, the SDK loads each on request; bytes shrink as promised and held-out
// accuracy stays within half a point of float32.
import anyTest, { type TestFn } from 'ava';
import { loadModel, type Quantization, type SynclineModel } from '../src/index.js';
import { heldoutAccuracy, trainMnistMlp } from './helpers/mnist-model.js';
import { startRegistry, type Registry } from './helpers/registry.js';

const test = anyTest as TestFn<{ registry: Registry }>;

test.before(async (t) => {
  const registry = await startRegistry();
  t.context.registry = registry;
  const model = await trainMnistMlp({ hidden: 32, epochs: 3 });
  await registry.publish(model, 'digits');
  model.dispose();
});
test.after.always(async (t) => {
  await t.context.registry?.stop();
});

/** Loads a variant through a fetch that counts the shard bytes it receives. */
async function load(registry: Registry, quantization: Quantization): Promise<{ model: SynclineModel; shardBytes: number; urls: string[] }> {
  let shardBytes = 0;
  const urls: string[] = [];
  const model = await loadModel(
    { baseUrl: registry.baseUrl, name: 'digits', version: 1 },
    {
      quantization,
      cache: false,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const url = String(input);
        urls.push(new URL(url).pathname);
        if (url.endsWith('.bin')) shardBytes += (await response.clone().arrayBuffer()).byteLength;
        return response;
      },
    },
  );
  return { model, shardBytes, urls };
}

test('float16 and uint8 variants: a half and a quarter of the bytes, held-out accuracy within 0.5 points', async (t) => {
  const { registry } = t.context;
  const results = new Map<Quantization, { bytes: number; accuracy: number; outputs: Float32Array }>();
  const probe = new Float32Array(784 * 4).map((_, i) => (i % 97) / 97);
  for (const quantization of ['float32', 'float16', 'uint8'] as const) {
    const { model, shardBytes, urls } = await load(registry, quantization);
    try {
      t.is(model.quantization, quantization);
      const folder = quantization === 'float32' ? '/v1/models/digits/1/' : `/v1/models/digits/1/${quantization}/`;
      t.true(urls.every((u) => u.startsWith(folder) && u.slice(folder.length).indexOf('/') < 0), urls.join(' '));
      results.set(quantization, { bytes: shardBytes, accuracy: heldoutAccuracy((x) => model.predictClass(x)), outputs: model.predict(probe) });
    } finally {
      model.dispose();
    }
  }
  const float32 = results.get('float32')!;
  t.log(JSON.stringify(Object.fromEntries([...results].map(([q, r]) => [q, { bytes: r.bytes, ratio: r.bytes / float32.bytes, accuracy: r.accuracy }]))));
  t.is(float32.bytes, (784 * 32 + 32 + 32 * 10 + 10) * 4);
  t.true(float32.accuracy > 0.88, `float32 accuracy ${float32.accuracy}`);
  for (const [quantization, maxRatio] of [['float16', 0.5], ['uint8', 0.27]] as const) {
    const { bytes, accuracy, outputs } = results.get(quantization)!;
    t.true(bytes / float32.bytes <= maxRatio, `${quantization}: ${bytes} bytes is ${bytes / float32.bytes} of float32`);
    t.true(Math.abs(accuracy - float32.accuracy) <= 0.005, `${quantization}: accuracy ${accuracy} vs ${float32.accuracy}`);
    const worst = outputs.reduce((w, v, i) => Math.max(w, Math.abs(v - float32.outputs[i]!)), 0);
    t.true(worst < (quantization === 'float16' ? 2e-3 : 5e-2), `${quantization}: outputs differ by up to ${worst}`);
  }
});

test('a variant asked of a model.json URL outside the coordinator layout is a TypeError', async (t) => {
  await t.throwsAsync(loadModel('http://127.0.0.1:9/files/model.json', { quantization: 'uint8' }), { instanceOf: TypeError });
  await t.throwsAsync(loadModel('http://127.0.0.1:9/v1/models/m/1/float16/model.json', { quantization: 'uint8' }), { instanceOf: TypeError });
});
