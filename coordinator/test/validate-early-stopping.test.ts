// training.earlyStopping at submit time: defaults filled in, and each impossible setting refused
// with an error naming its field (patience, the metric, a held-out split, evaluations, GANs).
import test from 'ava';
import { JobSpec, type DatasetInfo } from '@syncline/proto';
import { InvalidSpecError } from '../src/errors.js';
import { validateJobSpec } from '../src/spec/validate.js';

const mlp = { layers: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1 } } };

/** 400 training samples in batches of 40: 10 steps an epoch, 30 steps. */
function spec(training: Record<string, unknown>, more: Record<string, unknown> = {}): JobSpec {
  return JobSpec.fromJSON({ name: 'es', model: mlp, dataset: { name: 'mnist', trainLimit: 400 }, training: { epochs: 3, globalBatchSize: 40, seed: 1, ...training }, workers: { min: 1 }, ...more });
}

function refused(t: import('ava').ExecutionContext, s: JobSpec, field: string, message: RegExp, datasets: Record<string, DatasetInfo> = {}): void {
  const err = t.throws(() => validateJobSpec(s, datasets), { instanceOf: InvalidSpecError });
  t.is(err?.field, field, err?.message);
  t.regex(err?.message ?? '', message);
}

test('fills in loss and minDelta 0; absent means no early stopping', (t) => {
  t.deepEqual(validateJobSpec(spec({ earlyStopping: { patience: 2 } })).training?.earlyStopping, { monitor: 'loss', patience: 2, minDelta: 0 });
  t.deepEqual(validateJobSpec(spec({ earlyStopping: { monitor: 'accuracy', patience: 1, minDelta: 0.01 }, heldoutEverySteps: 5 })).training?.earlyStopping, { monitor: 'accuracy', patience: 1, minDelta: 0.01 });
  t.is(validateJobSpec(spec({})).training?.earlyStopping, undefined);
});

test('patience of at least 1, a known metric, a minDelta of at least 0', (t) => {
  refused(t, spec({ earlyStopping: { monitor: 'loss' } }), 'training.earlyStopping.patience', /is required: the number of held-out evaluations without improvement before stopping, at least 1/);
  refused(t, spec({ earlyStopping: { monitor: 'acuracy', patience: 1 } }), 'training.earlyStopping.monitor', /unknown early-stopping metric "acuracy"; expected one of: loss, accuracy \(did you mean accuracy\?\)/);
  refused(t, spec({ earlyStopping: { monitor: 'mae', patience: 1 } }), 'training.earlyStopping.monitor', /unknown early-stopping metric "mae"/);
  refused(t, spec({ earlyStopping: { patience: 1, minDelta: -0.1 } }), 'training.earlyStopping.minDelta', /must be a finite number in \[0, /);
});

test('accuracy needs a model that reports it', (t) => {
  const regression = JobSpec.fromJSON({
    name: 'es',
    model: { layers: [{ flatten: {} }, { dense: { units: 1 } }], loss: 'meanSquaredError', optimizer: { sgd: { learningRate: 0.1 } } },
    dataset: { name: 'adding', trainLimit: 400 },
    training: { epochs: 3, globalBatchSize: 40, seed: 1, earlyStopping: { monitor: 'accuracy', patience: 1 } },
    workers: { min: 1 },
  });
  refused(t, regression, 'training.earlyStopping.monitor', /accuracy needs a model that reports accuracy \(model.metrics: mae\); monitor loss instead/);
});

test('evaluations must be scheduled: epoch ends only when heldoutEverySteps is 0, never after the last step', (t) => {
  // Epoch ends before the last step: 2 evaluations (after steps 10 and 20).
  t.truthy(validateJobSpec(spec({ earlyStopping: { patience: 2 } })).training?.earlyStopping);
  refused(t, spec({ earlyStopping: { patience: 3 } }), 'training.earlyStopping.patience', /is 3, but the job evaluates the held-out split 2 times during its 30 steps \(only after each epoch but the last \(training.heldoutEverySteps is 0\)\), so early stopping could never stop it; lower the patience or set training.heldoutEverySteps/);
  refused(t, spec({ epochs: 1, earlyStopping: { patience: 1 } }), 'training.earlyStopping.patience', /evaluates the held-out split 0 times during its 10 steps/);
  // Every 4 steps and epoch ends, before step 30: 4, 8, 10, 12, 16, 20, 24, 28 (20 counted once).
  t.truthy(validateJobSpec(spec({ heldoutEverySteps: 4, earlyStopping: { patience: 8 } })).training?.earlyStopping);
  refused(t, spec({ heldoutEverySteps: 4, earlyStopping: { patience: 9 } }), 'training.earlyStopping.patience', /evaluates the held-out split 8 times during its 30 steps \(after each epoch but the last and every 4 steps\)/);
  // maxSteps cuts the schedule short: 4 and 8 before step 9.
  refused(t, spec({ maxSteps: 9, heldoutEverySteps: 4, earlyStopping: { patience: 3 } }), 'training.earlyStopping.patience', /2 times during its 9 steps/);
});

test('refused without a held-out split, and for GAN jobs', (t) => {
  const noHeldout: DatasetInfo = { inputShape: [784], input: 'float', target: { kind: 'classes', classes: 10 }, train: 400, heldout: 0, description: 'no held-out samples' };
  const s = spec({ earlyStopping: { patience: 1 } });
  s.dataset!.name = 'mine';
  refused(t, s, 'training.earlyStopping', /needs a held-out split to evaluate, and the dataset \(with its class selection\) has no held-out samples/, { mine: noHeldout });
  const sgd = { sgd: { learningRate: 0.1 } };
  const gan = spec({ earlyStopping: { patience: 1 } }, { model: undefined, gan: { latentDim: 8, generator: [{ dense: { units: 784, activation: 'sigmoid' } }], discriminator: [{ dense: { units: 1, activation: 'sigmoid' } }], generatorOptimizer: sgd, discriminatorOptimizer: sgd } });
  refused(t, gan, 'training.earlyStopping', /is not available for GAN jobs/);
});
