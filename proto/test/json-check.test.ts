import test from 'ava';
import { closestName, formatJsonPath, jsonProblems, parseJsonPath, type JsonProblem } from '../src/json-check.js';

const texts = (problems: JsonProblem[]) => problems.map((p) => `${formatJsonPath(p.path)}: ${p.message}`);

test('a valid job file has no problems, in JSON or proto field names', (t) => {
  t.deepEqual(
    jsonProblems('syncline.v1.JobSpec', {
      name: 'x',
      model: { layers: [{ dense: { units: 3 } }, { simpleRNN: { units: '2', return_sequences: true } }], loss: 'l', optimizer: { sgd: { learningRate: '1e-2' } } },
      training: { global_batch_size: 4, learningRateSchedule: { cosine: {} }, clipGlobalNorm: 'Infinity', seed: 1e3 },
      workers: null,
    }),
    [],
  );
});

test('misspelt and unknown fields are named with their path and a suggestion', (t) => {
  const problems = texts(
    jsonProblems('syncline.v1.JobSpec', {
      model: { layers: [{ dense: { unit: 3 } }, { conv3d: {} }] },
      dataset: { name: 'mnist', trainlimit: 5 },
      extra: 1,
    }),
  );
  t.is(problems.length, 4);
  t.regex(problems[0]!, /^model\.layers\[0\]\.dense\.unit: unknown field \(did you mean units\?\); DenseLayer has: units, activation, kernelInitializer$/);
  t.regex(problems[1]!, /^model\.layers\[1\]\.conv3d: unknown field \(did you mean conv2d\?\)/);
  t.regex(problems[2]!, /^dataset\.trainlimit: unknown field \(did you mean trainLimit\?\)/);
  t.regex(problems[3]!, /^extra: unknown field; JobSpec has:/);
});

test('two members of a oneof, one field spelt both ways, and wrong container types are problems', (t) => {
  t.deepEqual(texts(jsonProblems('syncline.v1.Layer', { dense: {}, lstm: {} })), [
    'lstm: dense is set already; a Layer takes exactly one of: dense, conv2d, maxPooling2d, averagePooling2d, flatten, reshape, dropout, batchNormalization, embedding, simpleRNN, lstm, gru, conv2dTranspose, upSampling2d, activation',
  ]);
  t.deepEqual(texts(jsonProblems('syncline.v1.TrainingSpec', { globalBatchSize: 4, global_batch_size: 8 })), ['global_batch_size: globalBatchSize and global_batch_size name the same field; set it once']);
  t.deepEqual(texts(jsonProblems('syncline.v1.ModelSpec', { layers: { dense: {} } })), ['layers: expected a list of Layer, found an object (put it in [ ])']);
  t.deepEqual(texts(jsonProblems('syncline.v1.JobSpec', { model: 3 })), ['model: expected an object (ModelSpec), found 3']);
});

test('scalars: integers in range, whole, of the right type; bools and strings not coerced', (t) => {
  const dense = (units: unknown) => texts(jsonProblems('syncline.v1.DenseLayer', { units }));
  t.deepEqual(dense(-5), ['units: expected a whole number from 0 to 4294967295 (uint32), found -5, which is negative']);
  t.deepEqual(dense('ten'), ['units: expected a whole number from 0 to 4294967295 (uint32), found the string "ten"']);
  t.deepEqual(dense(2.5), ['units: expected a whole number from 0 to 4294967295 (uint32), found 2.5, which is not whole (did you mean 3?)']);
  t.deepEqual(dense(2 ** 32), ['units: expected a whole number from 0 to 4294967295 (uint32), found 4294967296, which is too large']);
  t.deepEqual(dense(true), ['units: expected a whole number from 0 to 4294967295 (uint32), found true']);
  t.deepEqual(dense(''), ['units: expected a whole number from 0 to 4294967295 (uint32), found the string ""']);
  t.deepEqual(dense([3]), ['units: expected a whole number from 0 to 4294967295 (uint32), found a list']);
  t.deepEqual(dense('12'), []);
  t.deepEqual(texts(jsonProblems('syncline.v1.Conv2DLayer', { kernelSize: [3, -1] })), ['kernelSize[1]: expected a whole number from 0 to 4294967295 (uint32), found -1, which is negative']);
  t.deepEqual(texts(jsonProblems('syncline.v1.Conv2DLayer', { kernelSize: 3 })), ['kernelSize: expected a list of uint32, found 3 (put it in [ ])']);
  t.deepEqual(texts(jsonProblems('syncline.v1.SgdOptimizer', { learningRate: 'fast', nesterov: 'false' })), [
    'learningRate: expected a number (double), found the string "fast"',
    'nesterov: expected true or false, found the string "false" (write false without quotes)',
  ]);
  t.deepEqual(texts(jsonProblems('syncline.v1.JobSpec', { name: 2024 })), ['name: expected a string, found 2024 (put it in quotes: "2024")']);
});

test('enum values are checked by name or number, with the closest name suggested', (t) => {
  t.deepEqual(jsonProblems('syncline.v1.Job', { state: 'JOB_STATE_RUNNING' }), []);
  t.deepEqual(jsonProblems('syncline.v1.Job', { state: 2 }), []);
  const [problem] = texts(jsonProblems('syncline.v1.Job', { state: 'JOB_STATE_RUNING' }));
  t.regex(problem!, /^state: expected one of JOB_STATE_UNSPECIFIED, .*JOB_STATE_RUNNING.* \(JobState\), found the string "JOB_STATE_RUNING" \(did you mean JOB_STATE_RUNNING\?\)$/);
  t.regex(texts(jsonProblems('syncline.v1.Job', { state: 99 }))[0]!, /found 99$/);
});

test('paths round-trip and suggestions stay close', (t) => {
  t.deepEqual(parseJsonPath('model.layers[12].dense.units'), ['model', 'layers', 12, 'dense', 'units']);
  t.is(formatJsonPath(parseJsonPath('gan.generator[0]')), 'gan.generator[0]');
  t.is(formatJsonPath([]), '(top level)');
  t.is(closestName('reluu', ['sigmoid', 'relu', 'tanh']), 'relu');
  t.is(closestName('swish', ['sigmoid', 'relu', 'tanh', 'elu']), undefined);
  t.is(closestName('Adam', ['sgd', 'adam', 'rmsprop']), 'adam');
});
