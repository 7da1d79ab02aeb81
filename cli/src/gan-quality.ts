// How good a GAN's samples are, by a classifier trained on the real data: the share it
// recognizes confidently, how evenly the classes appear, and the Fréchet distance between its
// penultimate-layer features of generated and of real held-out samples (the FID recipe, with
// the job's own classifier in place of Inception).
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

export interface GaussianFit {
  mean: Float64Array;
  /** Row-major d × d sample covariance (divided by n - 1). */
  covariance: Float64Array;
  dim: number;
}

/** Mean and covariance of `count` rows of `dim` features. */
export function fitGaussian(rows: Float32Array | Float64Array, count: number, dim: number): GaussianFit {
  if (count < 2) throw new Error(`a covariance needs at least 2 samples, got ${count}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) mean[j]! += rows[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= count;
  const covariance = new Float64Array(dim * dim);
  const centered = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) centered[j] = rows[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ca = centered[a]!;
      if (ca === 0) continue;
      for (let b = a; b < dim; b++) covariance[a * dim + b]! += ca * centered[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = covariance[a * dim + b]! / (count - 1);
      covariance[a * dim + b] = v;
      covariance[b * dim + a] = v;
    }
  }
  return { mean, covariance, dim };
}

/** A d × d matrix from row-major values, made exactly symmetric (rounding can break it). */
function symmetric(values: ArrayLike<number>, dim: number): Matrix {
  const m = new Matrix(dim, dim);
  for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) m.set(a, b, (values[a * dim + b]! + values[b * dim + a]!) / 2);
  return m;
}

/**
 * The square root of a symmetric positive semi-definite matrix, through its eigendecomposition
 * (V diag(√λ) Vᵀ). Eigenvalues below zero can only be rounding of a PSD matrix: clamped to 0.
 */
export function sqrtPsd(m: Matrix): Matrix {
  const eig = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const v = eig.eigenvectorMatrix;
  const roots = eig.realEigenvalues.map((l) => Math.sqrt(Math.max(0, l)));
  return v.clone().mulRowVector(roots).mmul(v.transpose());
}

/**
 * Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2): |μ1 − μ2|² + tr Σ1 + tr Σ2 − 2 tr (Σ1 Σ2)^½.
 * tr (Σ1 Σ2)^½ = tr (S Σ2 S)^½ with S = Σ1^½: S Σ2 S is symmetric PSD, so both square roots come
 * from symmetric eigendecompositions (no general, non-symmetric matrix square root).
 */
export function frechetDistance(a: GaussianFit, b: GaussianFit): number {
  if (a.dim !== b.dim) throw new Error(`feature sizes differ: ${a.dim} and ${b.dim}`);
  const d = a.dim;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;
  const s1 = symmetric(a.covariance, d);
  const s2 = symmetric(b.covariance, d);
  const root1 = sqrtPsd(s1);
  const inner = symmetric(root1.mmul(s2).mmul(root1).to1DArray(), d);
  const eig = new EigenvalueDecomposition(inner, { assumeSymmetric: true });
  const traceRoot = eig.realEigenvalues.reduce((sum, l) => sum + Math.sqrt(Math.max(0, l)), 0);
  return Math.max(0, meanTerm + s1.trace() + s2.trace() - 2 * traceRoot);
}

export interface ClassBalance {
  /** Share of samples whose most likely class has probability ≥ the threshold. */
  confidentShare: number;
  /** Predicted (arg max) class counts, index = class. */
  predictedClassCounts: number[];
  /** Largest class count over the smallest (Infinity when a class never appears). */
  maxMinRatio: number;
}

/** The most likely class of row `i`. */
function argmax(probabilities: Float32Array, i: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (probabilities[i * classes + c]! > probabilities[i * classes + best]!) best = c;
  return best;
}

/** Confidence and class balance of `count` rows of class probabilities. */
export function classBalance(probabilities: Float32Array, count: number, classes: number, threshold = 0.9): ClassBalance {
  const counts = new Array<number>(classes).fill(0);
  let confident = 0;
  for (let i = 0; i < count; i++) {
    const best = argmax(probabilities, i, classes);
    counts[best]! += 1;
    if (probabilities[i * classes + best]! >= threshold) confident++;
  }
  const min = Math.min(...counts);
  return { confidentShare: confident / count, predictedClassCounts: counts, maxMinRatio: min === 0 ? Infinity : Math.max(...counts) / min };
}

export interface AskedClasses {
  /** Share of samples whose most likely class is the one the generator was asked for. */
  askedShare: number;
  /** Share recognized as the asked class with probability ≥ the threshold. */
  confidentAskedShare: number;
}

/** For a conditional generator: how often `count` rows of class probabilities name the class each sample was drawn as. */
export function askedClasses(probabilities: Float32Array, count: number, classes: number, asked: readonly number[], threshold = 0.9): AskedClasses {
  if (asked.length !== count) throw new RangeError(`${asked.length} asked classes for ${count} samples`);
  let hits = 0;
  let confident = 0;
  for (let i = 0; i < count; i++) {
    if (argmax(probabilities, i, classes) !== asked[i]) continue;
    hits++;
    if (probabilities[i * classes + asked[i]!]! >= threshold) confident++;
  }
  return { askedShare: hits / count, confidentAskedShare: confident / count };
}
