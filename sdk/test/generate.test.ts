// generate() on a published generator: seeded, reproducible, the generator's own outputs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import { loadModel } from '../src/index.js';
import { normalSamples } from '../src/random.js';
import { serveArtifacts } from './helpers/artifact-server.js';
import { publish } from './helpers/reference-model.js';

test('generate() gives seeded samples equal to the generator on the same latent vectors', async (t) => {
  await tf.setBackend('cpu');
  const root = await mkdtemp(path.join(tmpdir(), 'syncline-sdk-gan-'));
  const generator = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [8], units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.dense({ units: 784, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  const server = await (async () => {
    await publish(generator, root, 'gen', 1);
    return serveArtifacts(root);
  })();
  const before = tf.memory().numTensors;
  const model = await loadModel({ baseUrl: server.baseUrl, name: 'gen', version: 1 }, { backend: 'cpu', cache: false });
  try {
    const a = model.generate(5, { seed: 42 });
    t.is(a.length, 5 * 784);
    t.deepEqual(model.generate(5, { seed: 42 }), a);
    t.notDeepEqual(model.generate(5, { seed: 43 }), a);
    const expected = tf.tidy(() => (generator.predict(tf.tensor2d(normalSamples(5 * 8, 42), [5, 8])) as tf.Tensor).dataSync());
    let worst = 0;
    a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected[i]!))));
    t.true(worst < 1e-5, `max difference ${worst}`);
    t.throws(() => model.generate(0), { instanceOf: RangeError });
    t.throws(() => model.generate(2, { latent: new Float32Array(3) }), { instanceOf: RangeError });
  } finally {
    model.dispose();
    t.is(tf.memory().numTensors, before, 'generate() and dispose() leave no tensor behind');
    generator.dispose();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});
