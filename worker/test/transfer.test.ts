// Transfer learning (model.base): a job starts from a registered model's first layers, frozen
// ones keep their weights bit for bit and stay out of the all-reduced buffer, N workers equal one
// process, and the coordinator checks the base and the layers on it at submit time. A frozen
// batch normalization runs in inference mode, as Keras runs one; equivalence.test.ts trains a
// base with it on N workers over NATS against plain TF.js.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { describeModelJson, validateJobSpec, type BaseModelInfo } from '@syncline/coordinator';
import { JobSpec } from '@syncline/proto';
import { artifactsFromFiles } from '../src/artifacts/base-model.js';
import { modelFiles } from '../src/artifacts/model-files.js';
import { selectBackend } from '../src/backend.js';
import { loadDataset } from '../src/data/registry.js';
import { buildModel } from '../src/model/build.js';
import { SampleDropout } from '../src/model/sample-dropout.js';
import { Trainer } from '../src/train/trainer.js';
import { BN_BASE, batchNormBase, layerWeights } from './helpers/batch-norm-base.js';
import { maxRelativeError, trainAlone, trainInProcess } from './helpers/in-process-job.js';

const BASE_LAYERS = [
  { reshape: { targetShape: [28, 28, 1] } },
  { conv2d: { filters: 4, kernelSize: [5, 5], strides: [2, 2], activation: 'relu' } },
  { conv2d: { filters: 6, kernelSize: [3, 3], activation: 'relu' } },
  { dropout: { rate: 0.2 } },
  { flatten: {} },
  { dense: { units: 10, activation: 'softmax' } },
];

interface Base {
  files: Map<string, Uint8Array>;
  info: BaseModelInfo;
  weights: Float32Array[];
  names: string[];
}

let base: Base;

test.before(async () => {
  await selectBackend('wasm');
  const normalized = validateJobSpec(
    JobSpec.fromJSON({
      name: 'base',
      model: { layers: BASE_LAYERS, loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1 } } },
      dataset: { name: 'mnist' },
      training: { epochs: 1, globalBatchSize: 32, seed: 3 },
      workers: { min: 1 },
    }),
  );
  const model = buildModel(normalized.model!.layers, [784], 77);
  const { files } = await modelFiles(model, { name: 'base' });
  base = {
    files,
    info: await describeModelJson(files.get('model.json')!, 'base', 4),
    weights: model.getWeights().map((w) => w.dataSync() as Float32Array).map((a) => a.slice()),
    names: model.layers.map((l) => l.name),
  };
  model.dispose();
});

const artifacts = () => artifactsFromFiles(base.files.get('model.json')!, async (p) => base.files.get(p), 'base');

function transferJob(baseSpec: Record<string, unknown>, layers: unknown[] = [{ dense: { units: 16, activation: 'relu' } }, { dropout: { rate: 0.3 } }, { dense: { units: 10, activation: 'softmax' } }], info: BaseModelInfo | null = base.info) {
  return validateJobSpec(
    JobSpec.fromJSON({
      name: 'transfer',
      model: { base: baseSpec, layers, loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } } },
      dataset: { name: 'mnist', trainLimit: 96, classes: [5, 6, 7, 8, 9] },
      training: { epochs: 2, globalBatchSize: 24, seed: 9, maxSteps: 8 },
      workers: { min: 1, max: 4 },
    }),
    {},
    info ?? undefined,
  );
}

test('the coordinator reads the base and fills in the kept layers and the frozen ones', (t) => {
  t.deepEqual(base.info.inputShape, [784]);
  t.deepEqual(base.info.layers.map((l) => l.className), ['Reshape', 'Conv2D', 'Conv2D', 'Dropout', 'Flatten', 'Dense']);
  t.deepEqual(base.info.layers[4]!.outputShape, [600]);
  const spec = transferJob({ name: 'base', upTo: base.names[4] });
  t.deepEqual(spec.model!.base, { name: 'base', version: '4', upTo: '4', trainableFrom: 5 });
  t.is(spec.dataset!.trainLimit, 96);
  const all = transferJob({ name: 'base', version: 'latest', upTo: '2', trainableFrom: 2 }, [{ flatten: {} }, { dense: { units: 10, activation: 'softmax' } }]);
  t.deepEqual(all.model!.base, { name: 'base', version: '4', upTo: '2', trainableFrom: 2 });
});

test('bad bases and layers that do not fit the base are refused at submit time, naming the field', (t) => {
  const message = (f: () => unknown) => t.throws(f).message;
  t.regex(message(() => transferJob({ name: 'base', upTo: base.names[4]!.slice(0, -1) + 'X' })), new RegExp(`^model\\.base\\.upTo: base v4 has no layer .* \\(did you mean ${base.names[4]}\\?\\); its layers: ${base.names[0]}`));
  t.regex(message(() => transferJob({ name: 'base', upTo: '6' })), /^model\.base\.upTo: must be an integer from 0 to 5, got 6/);
  t.regex(message(() => transferJob({ name: 'base', upTo: '4', trainableFrom: 6 })), /^model\.base\.trainableFrom: must be an integer from 0 to 5/);
  t.regex(message(() => transferJob({ name: 'base', version: 'v2' })), /^model\.base\.version: must be a version number/);
  t.regex(message(() => transferJob({ name: 'base', upTo: '2' })), /^model\.layers\[2\]\.dense\.units: the model must output one unit per class .* its output shape is \[10, 10, 10\]/);
  t.regex(message(() => transferJob({ name: 'base', upTo: '4' }, [{ conv2d: { filters: 2, kernelSize: [3] } }, { dense: { units: 10, activation: 'softmax' } }])), /^model\.layers\[0\]\.conv2d: expects input of rank 3 \(height, width, channels\), got shape \[600\]/);
  t.regex(message(() => transferJob({ name: 'base', upTo: '4' }, [{ dense: { units: 7, activation: 'softmax' } }])), /^model\.layers\[0\]\.dense\.units: the model must output one unit per class/);
  t.regex(message(() => transferJob({ name: 'base' }, [{ dense: { units: 10, activation: 'softmax' } }], null)), /^model\.base: model "base" must be looked up in the registry by the coordinator/);
  t.regex(message(() => transferJob({ name: 'base' }, [{ dense: { units: 10, activation: 'softmax' } }], { ...base.info, inputShape: [28, 28, 1] })), /^model\.base\.name: base v4 takes input of shape \[28, 28, 1\], but samples of dataset "mnist" have shape \[784\]/);
  t.regex(message(() => transferJob({ name: 'base', upTo: '1' }, [{ flatten: {} }, { dense: { units: 10, activation: 'softmax' } }], { ...base.info, layers: base.info.layers.map((l, i) => (i === 1 ? { ...l, hasState: true } : l)) })), /^model\.base\.trainableFrom: base layer 1 .* keeps non-trainable weights and cannot be frozen \(only BatchNormalization can\); set trainableFrom to at most 1/);
});

test.serial('frozen layers keep their weights bit for bit, are not in the all-reduced buffer, and N workers equal one process', async (t) => {
  // Keep reshape, both convolutions, dropout and flatten; freeze the first convolution only.
  const spec = transferJob({ name: 'base', upTo: '4', trainableFrom: 2 });
  const dataset = loadDataset('mnist');
  const baseModel = await artifacts();

  const replica = new Trainer(spec, dataset, await tf.loadLayersModel(tf.io.fromMemory(baseModel)));
  const frozen = replica.model.layers[1]!;
  const tuned = replica.model.layers[2]!;
  t.false(frozen.trainable);
  t.true(tuned.trainable);
  t.true(replica.model.layers[3] instanceof SampleDropout, "the base's Dropout draws its masks by sample");
  const size = (l: tf.layers.Layer) => l.getWeights().reduce((n, w) => n + w.size, 0);
  const head = replica.model.layers.slice(5).reduce((n, l) => n + size(l), 0);
  t.is(replica.phases[0]!.gradients, size(tuned) + head, 'the fusion buffer holds the tuned convolution and the head only');
  t.is(replica.weightLength, size(tuned) + head);
  t.is(replica.state.length, 0, 'frozen weights are not replica state');
  t.true(replica.variables.every((v) => !frozen.getWeights().some((w) => w.id === v.id)));
  replica.dispose();

  const alone = await trainAlone(spec, dataset, { baseModel });
  const trained = alone.replica.publishedModel();
  // Base weights in order: conv1 kernel, bias (frozen), conv2 kernel, bias (tuned).
  t.deepEqual(trained.layers[1]!.getWeights().map((w) => w.dataSync()), [base.weights[0]!, base.weights[1]!], 'the frozen convolution is unchanged, bit for bit');
  t.true(maxRelativeError(trained.layers[2]!.getWeights()[0]!.dataSync() as Float32Array, base.weights[2]!) > 1e-4, 'the tuned convolution moved');
  const expected = await alone.replica.getWeights();
  const { files } = await modelFiles(trained, { name: 'transfer' });
  alone.replica.dispose();

  const results = await trainInProcess(spec, dataset, [{ workers: [0, 1], shares: [3, 1], until: 3 }, { workers: [1, 2, 3], shares: [1, 2, 1] }], 'transfer', { baseModel });
  const weights = await Promise.all(results.map((r) => r.replica.getWeights()));
  for (const r of results) {
    t.deepEqual(r.replica.publishedModel().layers[1]!.getWeights().map((w) => w.dataSync()), [base.weights[0]!, base.weights[1]!]);
    r.replica.dispose();
  }
  for (const [rank, w] of weights.entries()) {
    const err = maxRelativeError(w, expected);
    t.true(err < 1e-5, `rank ${rank}: relative error ${err}`);
    t.deepEqual(w, weights[0]);
  }

  // The published model is a plain TF.js layers model with the base's layers in it.
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(await artifactsFromFiles(files.get('model.json')!, async (p) => files.get(p), 'published')));
  t.is(loaded.layers.length, 8);
  t.deepEqual(loaded.layers[1]!.getWeights()[0]!.dataSync(), base.weights[0]);
  loaded.dispose();
});

test.serial('a frozen batch normalization normalizes with its moving statistics in training passes and keeps them bit for bit; a tuned one trains as before', async (t) => {
  const bn = await batchNormBase();
  t.deepEqual(
    bn.info.layers.map((l) => l.hasState),
    [false, false, true, false, false, true, false, false, false],
    'batch norms keep state; the convolution saved frozen does not',
  );
  // Freeze the first block (convolution → batch norm → relu), tune the second, a new classifier.
  const spec = transferJob({ name: 'bn-base', upTo: bn.names[BN_BASE.flatten], trainableFrom: BN_BASE.conv2 }, [{ dense: { units: 10, activation: 'softmax' } }], bn.info);
  t.deepEqual(spec.model!.base, { name: 'bn-base', version: '1', upTo: String(BN_BASE.flatten), trainableFrom: BN_BASE.conv2 });
  const dataset = loadDataset('mnist');
  const baseModel = await bn.artifacts();

  const replica = new Trainer(spec, dataset, await tf.loadLayersModel(tf.io.fromMemory(baseModel)));
  const frozen = replica.model.layers[BN_BASE.bn1]!;
  const tuned = replica.model.layers[BN_BASE.bn2]!;
  t.false(frozen.trainable);
  t.true(tuned.trainable);
  const names = (ws: tf.LayerVariable[]) => ws.map((w) => w.name);
  t.deepEqual(
    replica.state.variables.map((v) => v.name),
    names(tuned.nonTrainableWeights),
    "replica state (averaged at the end) is the tuned batch norm's moving statistics only",
  );
  t.false(replica.variables.some((v) => names(frozen.weights).includes(v.name)), "the frozen batch norm's weights are not in the all-reduced buffer");

  // Its output in a training pass is plain TF.js' output at inference, bit for bit.
  const x = tf.randomUniform([16, 784], 0, 1, 'float32', 4);
  const firstBlock = (m: tf.LayersModel, training: boolean) => m.layers.slice(0, BN_BASE.bn1 + 1).reduce((h, l) => l.apply(h, { training }) as tf.Tensor, x);
  const plain = await bn.plain();
  const inference = (await firstBlock(plain, false).data()) as Float32Array;
  t.deepEqual((await firstBlock(replica.model, true).data()) as Float32Array, inference, 'in a training pass, the frozen batch norm normalizes as at inference');
  t.true(maxRelativeError((await firstBlock(plain, true).data()) as Float32Array, inference) > 0.1, "plain TF.js normalizes by the batch's statistics in a training pass");
  t.deepEqual(layerWeights(frozen), bn.weights[BN_BASE.bn1]!, 'and a training pass left its statistics as they were');
  plain.dispose();
  replica.dispose();

  const alone = await trainAlone(spec, dataset, { baseModel });
  const trained = alone.replica.publishedModel();
  for (const i of [BN_BASE.conv1, BN_BASE.bn1]) t.deepEqual(layerWeights(trained.layers[i]!), bn.weights[i]!, `frozen layer ${i} (${bn.names[i]}) is unchanged, bit for bit`);
  const [gamma, , movingMean, movingVariance] = layerWeights(trained.layers[BN_BASE.bn2]!);
  const before = bn.weights[BN_BASE.bn2]!;
  t.true(maxRelativeError(gamma!, before[0]!) > 1e-4, "the tuned batch norm's gamma trained");
  t.true(maxRelativeError(movingMean!, before[2]!) > 1e-3 && maxRelativeError(movingVariance!, before[3]!) > 1e-3, 'its moving statistics moved towards the batches');

  // Published, the frozen one is a plain BatchNormalization (trainable: false) with the base's weights.
  const { files } = await modelFiles(trained, { name: 'bn-transfer' });
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(await artifactsFromFiles(files.get('model.json')!, async (p) => files.get(p), 'published')));
  t.is(loaded.layers[BN_BASE.bn1]!.constructor.name, 'BatchNormalization');
  t.false(loaded.layers[BN_BASE.bn1]!.trainable);
  t.deepEqual(layerWeights(loaded.layers[BN_BASE.bn1]!), bn.weights[BN_BASE.bn1]!);
  t.deepEqual(await (loaded.predict(x) as tf.Tensor).data(), await (trained.predict(x) as tf.Tensor).data(), 'it predicts as the trained model');
  loaded.dispose();
  alone.replica.dispose();
  x.dispose();
});
