// A private model through the SDK against a real coordinator: refused without a token (the
// registry answers 401, the SDK says so), loaded with one.
import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import { ModelOwners } from '../../coordinator/src/auth/model-owners.js';
import { loadModel, ModelLoadError } from '../src/index.js';
import { buildMlp, referenceOutputs, sampleInputs } from './helpers/reference-model.js';
import { startRegistry } from './helpers/registry.js';

test('a private model needs a token: refused without one, loaded with one', async (t) => {
  await tf.setBackend('cpu');
  const registry = await startRegistry();
  const owners = await ModelOwners.open(registry.coordinator.nc);
  try {
    // As a job with "visibility": "private" claims its name at submit time.
    await owners.claim({ id: 'test', name: 'alice', role: 'user' }, 'private-mlp', 'private');
    const model = buildMlp(3);
    const inputs = sampleInputs(2, 5);
    const expected = referenceOutputs(model, inputs);
    await registry.publish(model, 'private-mlp');
    model.dispose();
    const source = { baseUrl: registry.baseUrl, name: 'private-mlp' };
    const refused = await t.throwsAsync(loadModel(source, { cache: false, backend: 'cpu' }), { instanceOf: ModelLoadError });
    t.regex(refused!.message, /401/);
    const loaded = await loadModel(source, { cache: false, backend: 'cpu', token: registry.secrets.adminToken });
    try {
      const outputs = loaded.predict(inputs);
      t.true(expected.every((e, i) => Math.abs(e - outputs[i]!) < 1e-5));
    } finally {
      loaded.dispose();
    }
  } finally {
    owners.close();
    await registry.stop();
  }
});
