// Held-out evaluation during training: only rank 0, only after an epoch other than the last.
import test from 'ava';
import { epochEndEvaluation } from '../src/train/heldout.js';

test('rank 0 evaluates the held-out split after each epoch but the last', async (t) => {
  let calls = 0;
  const replica = { evaluate: async () => ((calls += 1), { loss: 0.5, accuracy: 0.75, mae: 0.1 }) };
  const heldout = { count: 200 };
  const perEpoch = 10;
  const steps = 30;
  const evaluated = [];
  for (let completed = 1; completed <= steps; completed++) {
    for (const rank of [0, 1]) {
      const fields = await epochEndEvaluation(replica, heldout, rank, completed, perEpoch, steps);
      if (fields.heldoutExamples > 0) evaluated.push([rank, completed, fields.heldoutLoss, fields.heldoutAccuracy, fields.heldoutMae]);
    }
  }
  t.deepEqual(evaluated, [
    [0, 10, 0.5, 0.75, 0.1],
    [0, 20, 0.5, 0.75, 0.1],
  ]);
  t.is(calls, 2);
  t.is((await epochEndEvaluation(replica, { count: 0 }, 0, 10, perEpoch, steps)).heldoutExamples, 0, 'no held-out data, no evaluation');
});
