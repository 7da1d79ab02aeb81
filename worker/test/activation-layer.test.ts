// The activation layer kind: it computes the same activation a layer's own `activation` field
// does (leakyRelu with the same slope, 0.2), and a convolution → batch norm → activation model
// trains, has every kernel it needs, publishes a plain TF.js layers model, and serves as a base.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, describeModelJson, validateJobSpec } from '@syncline/coordinator';
import { JobSpec, type Layer } from '@syncline/proto';
import { artifactsFromFiles } from '../src/artifacts/base-model.js';
import { modelFiles } from '../src/artifacts/model-files.js';
import { selectBackend } from '../src/backend.js';
import { loadDataset } from '../src/data/registry.js';
import { kernelsMissingForTraining } from '../src/kernels/missing-kernels.js';
import { buildModel } from '../src/model/build.js';
import { maxRelativeError, trainAlone } from './helpers/in-process-job.js';

test.before(async () => {
  await selectBackend('wasm');
});

const dense = (activation: string): Layer => ({ kind: { $case: 'dense', value: { units: 6, activation, kernelInitializer: 'glorotUniform' } } });
const activationLayer = (activation: string): Layer => ({ kind: { $case: 'activation', value: { activation } } });

function outputs(layers: Layer[], x: tf.Tensor): Float32Array {
  const model = buildModel(layers, [5], 11);
  const y = model.predict(x) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  y.dispose();
  model.dispose();
  return out;
}

test.serial('an activation layer after a linear dense layer equals the dense layer with that activation, for every activation', (t) => {
  const x = tf.randomNormal([7, 5], 0, 2, 'float32', 3);
  const linear = outputs([dense('linear')], x);
  t.true(linear.some((v) => v < 0) && linear.some((v) => v > 0), 'both signs reach the activation');
  for (const activation of ACTIVATIONS) {
    const own = outputs([dense(activation)], x);
    const separate = outputs([dense('linear'), activationLayer(activation)], x);
    t.true(maxRelativeError(separate, own) < 1e-6, `${activation}: ${maxRelativeError(separate, own)}`);
  }
  // The reference: leakyRelu(z) = z for z > 0, 0.2 z otherwise, on the linear layer's output.
  const leaky = outputs([dense('linear'), activationLayer('leakyRelu')], x);
  const reference = linear.map((z) => (z > 0 ? z : 0.2 * z));
  t.true(maxRelativeError(leaky, reference) < 1e-6, `leakyRelu: ${maxRelativeError(leaky, reference)}`);
  x.dispose();
});

test.serial('convolution → batch norm → activation trains, has its kernels, publishes a TF.js layers model and serves as a base', async (t) => {
  const spec = validateJobSpec(
    JobSpec.fromJSON({
      name: 'conv-bn-act',
      model: {
        layers: [
          { reshape: { targetShape: [28, 28, 1] } },
          { conv2d: { filters: 4, kernelSize: [5], strides: [2] } },
          { batchNormalization: {} },
          { activation: { activation: 'leakyRelu' } },
          { flatten: {} },
          { dense: { units: 10 } },
          { activation: { activation: 'softmax' } },
        ],
        loss: 'categoricalCrossentropy',
        optimizer: { sgd: { learningRate: 0.1 } },
      },
      dataset: { name: 'mnist', trainLimit: 96 },
      training: { epochs: 1, globalBatchSize: 32, seed: 5, maxSteps: 3 },
      workers: { min: 1, max: 1 },
    }),
  );
  // The trainer's initial model: the same layers and seed.
  const initial = buildModel(spec.model!.layers, [784], spec.training!.seed);
  for (const backend of ['wasm', 'cpu']) t.deepEqual(await kernelsMissingForTraining(initial, backend), [], backend);
  const initialKernel = initial.layers[1]!.getWeights()[0]!.dataSync() as Float32Array;
  initial.dispose();

  const alone = await trainAlone(spec, loadDataset('mnist'));
  const trained = alone.replica.publishedModel();
  t.deepEqual(
    trained.layers.map((l) => l.getClassName()),
    ['Reshape', 'Conv2D', 'BatchNormalization', 'LeakyReLU', 'Flatten', 'Dense', 'Activation'],
  );
  t.true(maxRelativeError(trained.layers[1]!.getWeights()[0]!.dataSync() as Float32Array, initialKernel) > 1e-4, 'training moved the convolution');
  const { files } = await modelFiles(trained, { name: 'conv-bn-act' });
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(await artifactsFromFiles(files.get('model.json')!, async (p) => files.get(p), 'published')));
  const x = tf.randomUniform([3, 784], 0, 1, 'float32', 8);
  const [want, got] = [trained.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
  const probabilities = got.dataSync() as Float32Array;
  t.true(maxRelativeError(probabilities, want.dataSync() as Float32Array) < 1e-6, 'the loaded model predicts as the trained one');
  t.true(Math.abs(probabilities.slice(0, 10).reduce((a, b) => a + b, 0) - 1) < 1e-5, 'the softmax activation layer gives probabilities');
  tf.dispose([x, want, got]);
  loaded.dispose();
  alone.replica.dispose();

  // As a base for transfer learning: kept up to its LeakyReLU, batch norm frozen, a new head.
  const info = await describeModelJson(files.get('model.json')!, 'conv-bn-act', 1);
  t.is(info.layers.at(-1)!.activation, 'softmax');
  const tuned = validateJobSpec(
    JobSpec.fromJSON({
      name: 'tuned',
      model: {
        base: { name: 'conv-bn-act', version: '1', upTo: '3', trainableFrom: 3 },
        layers: [{ flatten: {} }, { dense: { units: 10 } }, { activation: { activation: 'softmax' } }],
        loss: 'categoricalCrossentropy',
        optimizer: { sgd: { learningRate: 0.1 } },
      },
      dataset: { name: 'mnist', trainLimit: 96 },
      training: { epochs: 1, globalBatchSize: 32, seed: 6, maxSteps: 2 },
      workers: { min: 1, max: 1 },
    }),
    {},
    info,
  );
  const baseModel = await artifactsFromFiles(files.get('model.json')!, async (p) => files.get(p), 'base');
  const transferred = await trainAlone(tuned, loadDataset('mnist'), { baseModel });
  t.deepEqual(
    transferred.replica.publishedModel().layers.map((l) => l.getClassName()),
    ['Reshape', 'Conv2D', 'BatchNormalization', 'LeakyReLU', 'Flatten', 'Dense', 'Activation'],
  );
  transferred.replica.dispose();
});
