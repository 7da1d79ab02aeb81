// Job files as the CLI reads them, in JSON and YAML: every problem names the field and its
// line:column, syntax errors their line:column; the YAML form of each example is the same job.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { stringify } from 'yaml';
import { JobFileError, checkOffline, loadJobFile } from '../src/job-file.js';
import { repoRoot } from './helpers/processes.js';

const test = anyTest as TestFn<{ dir: string }>;
const examples = join(repoRoot, 'examples');

test.before(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'syncline-job-file-'));
});
test.after.always(async (t) => {
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

async function problems(t: { context: { dir: string } }, name: string, text: string): Promise<string[]> {
  const path = join(t.context.dir, name);
  await writeFile(path, text);
  try {
    const file = await loadJobFile(path);
    checkOffline(file);
    return [];
  } catch (err) {
    if (!(err instanceof JobFileError)) throw err;
    return err.message.split('\n').slice(1).map((l) => l.trim());
  }
}

const mlp = (dense0: string) => `{
  "name": "m",
  "model": {
    "layers": [
      { "dense": ${dense0} },
      { "dense": { "units": 10, "activation": "softmax" } }
    ],
    "loss": "categoricalCrossentropy",
    "optimizer": { "sgd": { "learningRate": 0.1 } }
  },
  "dataset": { "name": "mnist" },
  "training": { "epochs": 1, "globalBatchSize": 64 },
  "workers": { "min": 1 }
}
`;

test('the YAML form of every example reads as the same job as its JSON', async (t) => {
  for (const name of (await readdir(examples)).filter((f) => f.endsWith('.json'))) {
    const json = await loadJobFile(join(examples, name));
    const path = join(t.context.dir, name.replace(/\.json$/, '.yaml'));
    await writeFile(path, stringify(JSON.parse(await readFile(join(examples, name), 'utf8'))));
    const yaml = await loadJobFile(path);
    t.deepEqual(yaml.spec, json.spec, name);
    t.is(checkOffline(yaml), json.spec.model?.base ? checkOffline(json) : undefined);
  }
});

test('JSON: a wrong value is named by path with its line:column', async (t) => {
  t.deepEqual(await problems(t, 'neg.json', mlp('{ "units": -5 }')), [
    'model.layers[0].dense.units: expected a whole number from 0 to 4294967295 (uint32), found -5, which is negative (at 5:29)',
  ]);
  t.deepEqual(await problems(t, 'unknown.json', mlp('{ "unit": 5 }')), [
    'model.layers[0].dense.unit: unknown field (did you mean units?); DenseLayer has: units, activation, kernelInitializer (at 5:20)',
  ]);
  t.deepEqual(await problems(t, 'twice.json', mlp('{ "units": 5, "units": 6 }')), ['model.layers[0].dense.units: set twice (first at 5:20); keep one (at 5:32)']);
});

test("JSON: the coordinator's checks run offline and are placed in the file too", async (t) => {
  t.deepEqual(await problems(t, 'act.json', mlp('{ "units": 5, "activation": "rellu" }')), [
    'model.layers[0].dense.activation: unknown activation "rellu"; expected one of: sigmoid, relu, tanh, softmax, linear, leakyRelu, elu (did you mean relu?) (at 5:46)',
  ]);
  // A field that is missing is placed at the nearest enclosing value.
  t.deepEqual(await problems(t, 'zero.json', mlp('{ "activation": "relu" }')), ['model.layers[0].dense.units: must be an integer from 1 to 65536, got 0 (at 5:18)']);
});

test('the new layer kinds: field typos, values and shapes, each with line:column', async (t) => {
  const cnn = (layer: string) => `{
  "name": "c",
  "model": {
    "layers": [
      { "reshape": { "targetShape": [28, 28, 1] } },
      ${layer},
      { "flatten": {} },
      { "dense": { "units": 10, "activation": "softmax" } }
    ],
    "loss": "categoricalCrossentropy",
    "optimizer": { "sgd": { "learningRate": 0.1 } }
  },
  "dataset": { "name": "mnist" },
  "training": { "epochs": 1, "globalBatchSize": 64 },
  "workers": { "min": 1 }
}
`;
  t.deepEqual(await problems(t, 'deconv-typo.json', cnn('{ "conv2dTranspose": { "filters": 4, "kernelSize": [3], "stride": [2] } }')), [
    'model.layers[1].conv2dTranspose.stride: unknown field (did you mean strides?); Conv2DTransposeLayer has: filters, kernelSize, strides, padding, activation, kernelInitializer (at 6:63)',
  ]);
  t.deepEqual(await problems(t, 'upsample.json', cnn('{ "upSampling2d": { "size": [2], "interpolation": "bicubic" } }')), [
    'model.layers[1].upSampling2d.interpolation: unknown interpolation "bicubic"; expected one of: nearest, bilinear (at 6:57)',
  ]);
  t.deepEqual(await problems(t, 'upsample-kind.json', cnn('{ "upsampling2d": {} }')), [
    'model.layers[1].upsampling2d: unknown field (did you mean upSampling2d?); Layer has: dense, conv2d, maxPooling2d, averagePooling2d, flatten, reshape, dropout, batchNormalization, embedding, simpleRNN, lstm, gru, conv2dTranspose, upSampling2d, activation (at 6:9)',
  ]);
  t.deepEqual(await problems(t, 'activation.json', cnn('{ "activation": { "activation": "leaky_relu" } }')), [
    'model.layers[1].activation.activation: unknown activation "leaky_relu"; expected one of: sigmoid, relu, tanh, softmax, linear, leakyRelu, elu (did you mean leakyRelu?) (at 6:39)',
  ]);
  t.deepEqual(await problems(t, 'activation-ok.json', cnn('{ "activation": { "activation": "leakyRelu" } }')), []);
  t.deepEqual(await problems(t, 'deconv-ok.json', cnn('{ "conv2dTranspose": { "filters": 4, "kernelSize": [3], "strides": [2], "padding": "same" } }')), []);
});

test('JSON: syntax errors give line:column and what was expected', async (t) => {
  const good = mlp('{ "units": 5 }');
  t.deepEqual(await problems(t, 'brace.json', good.trimEnd().slice(0, -1)), ["14:1: JSON syntax: expected '}' to close an object, found the end of the file"]);
  t.deepEqual(await problems(t, 'comma.json', good.replace('"units": 10,', '"units": 10')), ['6:32: JSON syntax: expected \',\' before "activation" (or a closing \'}\' or \']\')']);
  t.deepEqual(await problems(t, 'trailing.json', good.replace('"softmax" }', '"softmax", }')), [
    "6:58: JSON syntax: expected a field name in double quotes, found '}' (remove the comma before it: JSON allows no trailing comma)",
  ]);
  t.deepEqual(await problems(t, 'colon.json', good.replace('"loss": "', '"loss" "')), ['8:12: JSON syntax: expected \':\' after the field name, found "categoricalCrossentropy"']);
  t.deepEqual(await problems(t, 'symbol.json', good.replace('"epochs": 1', '"epochs": one')), ['12:27: JSON syntax: unexpected \'one\': a value is an object, a list, a "string" in double quotes, a number, true, false or null']);
  t.deepEqual(await problems(t, 'empty.json', ''), ['1:1: JSON syntax: expected a value, found the end of the file']);
  t.deepEqual(await problems(t, 'list.json', '[]'), ['(top level): expected an object (JobSpec), found a list (at 1:1)']);
});

const yamlJob = `# comments are fine in YAML
name: m
model:
  layers:
    - dense: { units: 16, activation: relu }
    - dense:
        units: 10
        activation: softmax
  loss: categoricalCrossentropy
  optimizer: { sgd: { learning_rate: 0.1 } }
dataset: { name: mnist }
training: { epochs: 1, global_batch_size: 64 }
workers: { min: 1 }
`;

test('YAML: values, fields, proto-style names and the coordinator checks, each with line:column', async (t) => {
  t.deepEqual(await problems(t, 'ok.yaml', yamlJob), []);
  t.deepEqual(await problems(t, 'ok.yml', yamlJob), []);
  t.deepEqual(await problems(t, 'ten.yaml', yamlJob.replace('units: 10', 'units: ten')), [
    'model.layers[1].dense.units: expected a whole number from 0 to 4294967295 (uint32), found the string "ten" (at 7:16)',
  ]);
  t.deepEqual(await problems(t, 'name.yaml', yamlJob.replace('name: m', 'name: 2024')), ['name: expected a string, found 2024 (put it in quotes: "2024") (at 2:7)']);
  t.deepEqual(await problems(t, 'field.yaml', yamlJob.replace('learning_rate', 'learning_rat')), [
    'model.optimizer.sgd.learning_rat: unknown field (did you mean learningRate?); SgdOptimizer has: learningRate, momentum, nesterov (at 10:23)',
  ]);
  t.deepEqual(await problems(t, 'batch.yaml', yamlJob.replace('global_batch_size: 64', 'global_batch_size: 99999')), [
    'training.globalBatchSize: must be at most the training set size (8000), got 99999 (at 12:43)',
  ]);
  t.deepEqual(await problems(t, 'act.yaml', yamlJob.replace('activation: softmax', 'activation: sofmax')), [
    'model.layers[1].dense.activation: unknown activation "sofmax"; expected one of: sigmoid, relu, tanh, softmax, linear, leakyRelu, elu (did you mean softmax?) (at 8:21)',
  ]);
});

test('YAML: syntax errors and duplicate keys give line:column', async (t) => {
  const [flow] = await problems(t, 'flow.yaml', yamlJob.replace('{ name: mnist }', '{ name: mnist'));
  t.regex(flow!, /^1[12]:\d+: YAML syntax: /);
  t.deepEqual(await problems(t, 'tab.yaml', yamlJob.replace('  loss:', '\tloss:')), ['9:1: YAML syntax: Tabs are not allowed as indentation']);
  t.deepEqual(await problems(t, 'dup.yaml', `${yamlJob}name: again\n`), ['14:1: YAML syntax: Map keys must be unique']);
});

test('an uploaded dataset is left to the coordinator offline, and said so', async (t) => {
  const path = join(t.context.dir, 'user.yaml');
  await writeFile(path, yamlJob.replace('name: mnist', 'name: my-data'));
  t.regex(checkOffline(await loadJobFile(path)) ?? '', /"my-data" is not built in: the model's shapes against an uploaded dataset are checked by the coordinator/);
});
