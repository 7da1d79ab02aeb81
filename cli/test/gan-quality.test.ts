// The GAN quality figures against closed forms: the Fréchet distance of Gaussians whose
// covariances commute (a sum per axis) and do not (2 × 2: tr √M = √(tr M + 2 √det M)), its
// estimate from samples of known Gaussians, and the class-balance counts.
import test from 'ava';
import { Matrix } from 'ml-matrix';
import { classBalance, fitGaussian, frechetDistance, sqrtPsd, type GaussianFit } from '../src/gan-quality.js';

const gaussian = (mean: number[], covariance: number[][]): GaussianFit => ({
  mean: Float64Array.from(mean),
  covariance: Float64Array.from(covariance.flat()),
  dim: mean.length,
});

test('the square root of a PSD matrix squares back to it; rounding below zero is clamped', (t) => {
  // Rank 2 (a PSD matrix with a zero eigenvalue, which rounding may put slightly below zero).
  const l = new Matrix([
    [2, 0],
    [0.5, 1.5],
    [1, -1],
  ]);
  const m = l.mmul(l.transpose());
  const root = sqrtPsd(m);
  const back = root.mmul(root);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) t.true(Math.abs(back.get(i, j) - m.get(i, j)) < 1e-6, `(${i}, ${j})`);
  t.false(sqrtPsd(new Matrix([[1, 0], [0, -1e-15]])).to1DArray().some(Number.isNaN));
});

test('diagonal covariances: the distance is a sum per axis', (t) => {
  const a = gaussian([0, 1, 2], [[1, 0, 0], [0, 4, 0], [0, 0, 9]]);
  const b = gaussian([1, 1, 0], [[4, 0, 0], [0, 4, 0], [0, 0, 1]]);
  // |Δμ|² = 1 + 0 + 4; per axis (σ1 − σ2)²: (1 − 2)² + 0 + (3 − 1)².
  t.true(Math.abs(frechetDistance(a, b) - (5 + 1 + 0 + 4)) < 1e-9);
  t.true(Math.abs(frechetDistance(a, a)) < 1e-9);
});

test('non-commuting 2 × 2 covariances match the closed form', (t) => {
  const s1 = [[2, 0.9], [0.9, 1]];
  const s2 = [[1, -0.4], [-0.4, 3]];
  const m = new Matrix(s1).mmul(new Matrix(s2));
  const det = m.get(0, 0) * m.get(1, 1) - m.get(0, 1) * m.get(1, 0);
  const traceRoot = Math.sqrt(m.trace() + 2 * Math.sqrt(det));
  const expected = 0.25 + 3 + 4 - 2 * traceRoot;
  const got = frechetDistance(gaussian([0.5, 0], s1), gaussian([0, 0], s2));
  t.true(Math.abs(got - expected) < 1e-9, `${got} vs ${expected}`);
  t.true(Math.abs(got - frechetDistance(gaussian([0, 0], s2), gaussian([0.5, 0], s1))) < 1e-9, 'symmetric');
});

test('estimated from samples of known Gaussians, the distance approaches the true one', (t) => {
  // Deterministic normals (Box–Muller over a fixed LCG), transformed by known matrices.
  let state = 12345;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const draw = (n: number, mean: number[], l: number[][]) => {
    const d = mean.length;
    const rows = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const z = mean.map(() => normal());
      for (let a = 0; a < d; a++) rows[i * d + a] = mean[a]! + l[a]!.reduce((s, v, k) => s + v * z[k]!, 0);
    }
    return rows;
  };
  const l1 = [[1, 0, 0], [0.5, 1, 0], [0.2, -0.3, 0.7]];
  const l2 = [[1.5, 0, 0], [-0.2, 0.6, 0], [0, 0.4, 1.1]];
  const cov = (l: number[][]) => new Matrix(l).mmul(new Matrix(l).transpose()).to2DArray();
  const truth = frechetDistance(gaussian([0, 0, 0], cov(l1)), gaussian([1, 0, -0.5], cov(l2)));
  const n = 20000;
  const estimate = frechetDistance(fitGaussian(draw(n, [0, 0, 0], l1), n, 3), fitGaussian(draw(n, [1, 0, -0.5], l2), n, 3));
  t.true(truth > 1, `truth ${truth}`);
  t.true(Math.abs(estimate - truth) < 0.05 * truth, `estimate ${estimate}, truth ${truth}`);
  // Two samples of the same Gaussian are close, not 0 and not far.
  const same = frechetDistance(fitGaussian(draw(n, [0, 0, 0], l1), n, 3), fitGaussian(draw(n, [0, 0, 0], l1), n, 3));
  t.true(same < 0.01, `same distribution: ${same}`);
});

test('class balance: confident share, counts, max/min ratio', (t) => {
  const probabilities = Float32Array.from([0.95, 0.05, 0, 0.2, 0.7, 0.1, 0.02, 0.03, 0.95, 0.91, 0.09, 0]);
  const b = classBalance(probabilities, 4, 3);
  t.deepEqual(b.predictedClassCounts, [2, 1, 1]);
  t.is(b.confidentShare, 0.75);
  t.is(b.maxMinRatio, 2);
  t.is(classBalance(Float32Array.from([1, 0, 0, 1]), 2, 3).maxMinRatio, Infinity);
});
