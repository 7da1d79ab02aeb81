import test from 'ava';
import { jsonProblems } from '../src/json-check.js';

test('a valid job file has no problems, in JSON or proto field names', (t) => {
  t.deepEqual(
    jsonProblems('syncline.v1.JobSpec', {
      name: 'x',
      model: { layers: [{ dense: { units: 3 } }, { simpleRNN: { units: 2, return_sequences: true } }], loss: 'l', optimizer: { sgd: { learningRate: 1 } } },
      training: { global_batch_size: 4, learningRateSchedule: { cosine: {} } },
    }),
    [],
  );
});

test('misspelt and unknown fields are named with their path and a suggestion', (t) => {
  const problems = jsonProblems('syncline.v1.JobSpec', {
    model: { layers: [{ dense: { unit: 3 } }, { conv3d: {} }] },
    dataset: { name: 'mnist', trainlimit: 5 },
    extra: 1,
  });
  t.is(problems.length, 4);
  t.regex(problems[0]!, /^model\.layers\[0\]\.dense\.unit: unknown field \(did you mean units\?\)/);
  t.regex(problems[1]!, /^model\.layers\[1\]\.conv3d: unknown field \(did you mean conv2d\?\)/);
  t.regex(problems[2]!, /^dataset\.trainlimit: unknown field \(did you mean trainLimit\?\)/);
  t.regex(problems[3]!, /^extra: unknown field;/);
});

test('two members of a oneof and wrong container types are problems', (t) => {
  t.deepEqual(jsonProblems('syncline.v1.Layer', { dense: {}, lstm: {} }), ['(top level): dense and lstm are alternatives (kind); set one']);
  t.deepEqual(jsonProblems('syncline.v1.ModelSpec', { layers: { dense: {} } }), ['layers: expected a list']);
  t.deepEqual(jsonProblems('syncline.v1.JobSpec', { model: 3 }), ['model: expected an object']);
});
