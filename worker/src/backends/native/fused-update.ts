// The optimizer update of a step as one native pass per variable, on the `native` backend: it
// reads the all-reduced gradient sum where it lies (no division loop in JavaScript, no gradient
// tensors) and updates each variable, and the optimizer's slots, in place. It computes what
// VariableSet.meanGradients followed by the TF.js optimizer's applyGradients computes, bit for
// bit (optimizer.cc says how), for SGD, momentum (with or without Nesterov) and Adam; other
// optimizers take that path.
//
// The optimizer's state stays in the TF.js optimizer's own variables (momentum accumulators,
// Adam's moments and beta powers, the iteration count), so getWeights/setWeights (checkpoints,
// replicas joining a generation) see it unchanged.
//
// In place is safe only where nothing but the variable sees its array: one reference to the
// backend's data entry, and an array the backend allocated and never handed out (BufferPool:
// not one a caller passed to tf.tensor, not read out, not viewed). Where any variable or slot
// fails that, or a slot does not exist yet (the first step creates them), apply() changes
// nothing and says so: the caller takes the TF.js path for that step, whose outputs are fresh
// backend arrays, so the next step can be fused again.
import * as tf from '@tensorflow/tfjs';
import { NativeBackend } from './backend.js';

const FUSED = new Set(['SGD', 'Momentum', 'Adam']);

export class FusedUpdate {
  private readonly offsets: number[];
  private readonly length: number;
  private readonly adamScalars = new Float32Array(8);

  private constructor(
    private readonly optimizer: tf.Optimizer,
    private readonly variables: readonly tf.Variable[],
  ) {
    this.offsets = [];
    let at = 0;
    for (const v of variables) {
      this.offsets.push(at);
      at += v.size;
    }
    this.length = at;
  }

  /**
   * The fused update of `optimizer` over `variables` (in the order of the gradient sum), or
   * undefined where there is none: another backend, another optimizer.
   */
  static for(optimizer: tf.Optimizer, variables: readonly tf.Variable[]): FusedUpdate | undefined {
    // By class name: TF.js makes `instanceof` true for any optimizer against any optimizer class.
    if (!(tf.backend() instanceof NativeBackend) || !FUSED.has(optimizer.getClassName())) return undefined;
    return new FusedUpdate(optimizer, variables);
  }

  /**
   * Applies the mean of `summed` (its first gradients, in variable order) over `samples`,
   * clipped to global norm `clipNorm` when > 0, and returns true; or returns false having
   * changed nothing, where the update cannot be done in place.
   */
  apply(summed: Float32Array, samples: number, clipNorm: number): boolean {
    const backend = tf.backend();
    if (!(backend instanceof NativeBackend) || summed.length < this.length) return false;
    const seen = new Set<Float32Array>();
    const weights = exclusive(backend, this.variables, seen);
    if (!weights) return false;
    // What the TF.js optimizers keep out of their typings (protected or undeclared), read and
    // checked on every step: setLearningRate replaces `c`, setWeights the slot lists. A field
    // missing (another TF.js version) means the TF.js path.
    const o = this.optimizer;
    const incrementIterations = field(o, 'incrementIterations');
    if (typeof incrementIterations !== 'function') return false;
    switch (o.getClassName()) {
      case 'SGD': {
        // c: the scalar -learningRate that SGD and momentum multiply by.
        const negRate = scalarValue(backend, field(o, 'c'));
        if (negRate === undefined) return false;
        const scale = this.clipScale(backend, summed, samples, clipNorm);
        weights.forEach((w, i) => backend.addon.sgdUpdate(summed, this.offsets[i]!, samples, scale, negRate, w));
        break;
      }
      case 'Momentum': {
        const negRate = scalarValue(backend, field(o, 'c'));
        const momentum = scalarValue(backend, field(o, 'm'));
        const nesterov = field(o, 'useNesterov');
        const accumulations = this.slots(backend, field(o, 'accumulations'), seen);
        if (negRate === undefined || momentum === undefined || typeof nesterov !== 'boolean' || !accumulations) return false;
        const scale = this.clipScale(backend, summed, samples, clipNorm);
        weights.forEach((w, i) => backend.addon.momentumUpdate(summed, this.offsets[i]!, samples, scale, negRate, momentum, nesterov, w, accumulations[i]!));
        break;
      }
      case 'Adam': {
        const [rate, beta1, beta2, epsilon] = ['learningRate', 'beta1', 'beta2', 'epsilon'].map((name) => field(o, name));
        const accBeta1 = field(o, 'accBeta1');
        const accBeta2 = field(o, 'accBeta2');
        const accBeta1Value = scalarValue(backend, accBeta1);
        const accBeta2Value = scalarValue(backend, accBeta2);
        const first = this.slots(backend, field(o, 'accumulatedFirstMoment'), seen);
        const second = this.slots(backend, field(o, 'accumulatedSecondMoment'), seen);
        if (typeof rate !== 'number' || typeof beta1 !== 'number' || typeof beta2 !== 'number' || typeof epsilon !== 'number') return false;
        if (!(accBeta1 instanceof tf.Variable) || !(accBeta2 instanceof tf.Variable) || accBeta1Value === undefined || accBeta2Value === undefined || !first || !second) return false;
        // Each the float32 scalar TF.js makes of it: JavaScript numbers become float32 tensors,
        // and 1 - accBeta is a float32 subtraction (exact when done in float64 and rounded once).
        const s = this.adamScalars;
        s[0] = beta1;
        s[1] = 1 - beta1;
        s[2] = beta2;
        s[3] = 1 - beta2;
        s[4] = 1 - accBeta1Value;
        s[5] = 1 - accBeta2Value;
        s[6] = epsilon;
        s[7] = -rate;
        const scale = this.clipScale(backend, summed, samples, clipNorm);
        weights.forEach((w, i) => backend.addon.adamUpdate(summed, this.offsets[i]!, samples, scale, s, w, first[i]!, second[i]!));
        // The beta powers as TF.js advances them (two scalar kernels, new tensors).
        tf.tidy(() => {
          accBeta1.assign(tf.mul(accBeta1, beta1));
          accBeta2.assign(tf.mul(accBeta2, beta2));
        });
        break;
      }
      default:
        return false;
    }
    incrementIterations.call(o);
    return true;
  }

  /**
   * The factor meanGradients multiplies the mean gradients by (in float64) to clip their global
   * norm to `clipNorm`, or -1 for none. The norm's square is summed in float64, in order.
   */
  private clipScale(backend: NativeBackend, summed: Float32Array, samples: number, clipNorm: number): number {
    if (!(clipNorm > 0)) return -1;
    const norm = Math.sqrt(backend.addon.meanGradientSquareSum(summed, this.length, samples));
    return norm > clipNorm ? clipNorm / norm : -1;
  }

  /**
   * One optimizer slot per variable (TF.js keeps them as a list of { variable }: momentum
   * accumulators, Adam's moments), each of its variable's size and updatable in place.
   */
  private slots(backend: NativeBackend, slots: unknown, seen: Set<Float32Array>): Float32Array[] | undefined {
    if (!Array.isArray(slots) || slots.length !== this.variables.length) return undefined;
    const variables: tf.Variable[] = [];
    for (const [i, slot] of slots.entries()) {
      if (!(slot?.variable instanceof tf.Variable) || slot.variable.size !== this.variables[i]!.size) return undefined;
      variables.push(slot.variable);
    }
    return exclusive(backend, variables, seen);
  }
}

/**
 * The arrays of `variables` when each can be written in place (see the header) and none is one
 * already in `seen` (which collects them), else undefined.
 */
function exclusive(backend: NativeBackend, variables: readonly tf.Variable[], seen: Set<Float32Array>): Float32Array[] | undefined {
  const arrays: Float32Array[] = [];
  for (const v of variables) {
    if (v.isDisposed || v.dtype !== 'float32' || !backend.data.has(v.dataId)) return undefined;
    const entry = backend.data.get(v.dataId);
    const values = entry.values;
    if (entry.refCount !== 1 || !(values instanceof Float32Array) || values.length !== v.size || !backend.pool.exclusive(values) || seen.has(values)) return undefined;
    seen.add(values);
    arrays.push(values);
  }
  return arrays;
}

/** A field of a TF.js optimizer that its typings keep protected or leave out. */
function field(optimizer: tf.Optimizer, name: string): unknown {
  return Reflect.get(optimizer, name);
}

/** A float32 scalar's value, read in place (a read through the engine would pin its array). */
function scalarValue(backend: NativeBackend, t: unknown): number | undefined {
  if (!(t instanceof tf.Tensor) || t.isDisposed || t.dtype !== 'float32' || t.size !== 1 || !backend.data.has(t.dataId)) return undefined;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values[0] : undefined;
}
