// The early-stopping decision (Keras EarlyStopping) as a pure function of the evaluations: which
// evaluation uses up the patience, with minDelta, for a metric to lower and one to raise.
import test from 'ava';
import { EarlyStopping } from '@syncline/proto';
import { EarlyStoppingRule, INITIAL_EARLY_STOPPING, type EarlyStoppingState } from '../src/train/early-stopping.js';

/** Feeds `values` (one evaluation every 10 steps) until the rule stops; the states after each. */
function run(rule: EarlyStoppingRule, values: number[]): EarlyStoppingState[] {
  const states: EarlyStoppingState[] = [];
  let state = INITIAL_EARLY_STOPPING;
  for (const [i, v] of values.entries()) {
    state = rule.observe(state, Math.fround(v), 10 * (i + 1));
    states.push(state);
    if (state.stoppedAt !== undefined) break;
  }
  return states;
}

const loss = (patience: number, minDelta = 0) => new EarlyStoppingRule(EarlyStopping.fromPartial({ monitor: 'loss', patience, minDelta }));

test('loss: stops at the evaluation that makes `patience` in a row without a lower value', (t) => {
  const states = run(loss(2), [0.9, 0.5, 0.6, 0.4, 0.45, 0.41, 0.3]);
  t.is(states.length, 6);
  t.deepEqual(states.at(-1), { best: Math.fround(0.4), bestStep: 40, wait: 2, evaluatedStep: 60, stoppedAt: 60 });
  t.deepEqual(states.map((s) => s.wait), [0, 0, 1, 0, 1, 2]);
});

test('minDelta: a smaller improvement counts as none', (t) => {
  // 0.5 → 0.495 improves by 0.005 < 0.01; 0.48 improves by 0.02 on 0.5.
  const states = run(loss(2, 0.01), [0.5, 0.495, 0.48, 0.475, 0.472]);
  t.deepEqual(states.map((s) => s.bestStep), [10, 10, 30, 30, 30]);
  t.is(states.at(-1)!.stoppedAt, 50);
  t.is(states.at(-1)!.best, Math.fround(0.48));
  t.is(run(loss(2, 0), [0.5, 0.495, 0.48, 0.475, 0.472]).at(-1)!.stoppedAt, undefined, 'without minDelta each is an improvement');
});

test('accuracy is raised, not lowered', (t) => {
  const rule = new EarlyStoppingRule(EarlyStopping.fromPartial({ monitor: 'accuracy', patience: 1 }));
  const states = run(rule, [0.5, 0.7, 0.6]);
  t.deepEqual(states.at(-1), { best: Math.fround(0.7), bestStep: 20, wait: 1, evaluatedStep: 30, stoppedAt: 30 });
  t.is(rule.describe(states.at(-1)!)!.reason, 'held-out accuracy did not improve for evaluation (best 0.7000 at step 20)');
});

test('a non-finite value is never the best and counts as no improvement', (t) => {
  const states = run(loss(2), [Number.NaN, 0.5, Number.POSITIVE_INFINITY, Number.NaN]);
  t.deepEqual(states.map((s) => [s.bestStep, s.wait, s.stoppedAt]), [[0, 1, undefined], [20, 0, undefined], [20, 1, undefined], [20, 2, 40]]);
  const diverged = run(loss(1), [Number.NaN]);
  t.deepEqual(diverged.at(-1), { best: 0, bestStep: 0, wait: 1, evaluatedStep: 10, stoppedAt: 10 });
  t.is(loss(1).describe(diverged.at(-1)!)!.reason, 'held-out loss did not improve for evaluation (no finite value)');
});

test('the result says where and why, and the rule refuses what cannot happen', (t) => {
  const rule = loss(3, 0.001);
  const state: EarlyStoppingState = { best: Math.fround(0.213), bestStep: 220, wait: 3, evaluatedStep: 340, stoppedAt: 340 };
  t.deepEqual(rule.describe(state), { step: 340, bestStep: 220, bestValue: Math.fround(0.213), reason: 'held-out loss did not improve by 0.001 for 3 evaluations (best 0.2130 at step 220)' });
  t.is(rule.describe({ ...state, stoppedAt: undefined }), undefined);
  t.throws(() => rule.observe(state, 0.1, 350), { message: /already stopped training at step 340/ });
  t.throws(() => rule.observe({ ...state, stoppedAt: undefined }, 0.1, 340), { message: /comes after the one after step 340/ });
  t.throws(() => new EarlyStoppingRule(EarlyStopping.fromPartial({ monitor: 'mae', patience: 1 })), { message: /monitor "mae" is not one of loss, accuracy/ });
  t.is(rule.value({ loss: 0.1, accuracy: 0.9 }), Math.fround(0.1));
});
