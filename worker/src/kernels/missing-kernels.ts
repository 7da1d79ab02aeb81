// Which kernels one training step of a model runs that a backend lacks. TF.js has no fallback
// between backends: a missing kernel fails the step. We run one step of a copy of the model on
// the cpu backend (which has every kernel) under the profiler and look each kernel up.
import * as tf from '@tensorflow/tfjs';

export interface TrainingProbe {
  /** The job's loss (summed or mean); default: the sum of the model's outputs. */
  loss?: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;
  /** The job's optimizer kind, so its update kernels are looked up too; default: SGD. */
  optimizer?: () => tf.Optimizer;
}

/**
 * The topology with every initializer replaced by zeros: the copy's values do not matter, and
 * some initializers are slow on cpu (orthogonal runs a QR decomposition per recurrent kernel).
 */
function withZeroInitializers(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(withZeroInitializers);
  if (json === null || typeof json !== 'object') return json;
  return Object.fromEntries(
    Object.entries(json).map(([key, value]) => [key, key.endsWith('initializer') && value !== null ? { class_name: 'Zeros', config: {} } : withZeroInitializers(value)]),
  );
}

/**
 * Kernel names used by a training step (forward, backward, optimizer update) of `model` that
 * `backendName` has no kernel for, sorted. Switches the global backend to cpu while it runs:
 * call it before training starts, not while other TF.js work is in flight.
 */
export async function kernelsMissingForTraining(model: tf.LayersModel, backendName: string = tf.getBackend(), probe: TrainingProbe = {}): Promise<string[]> {
  const active = tf.getBackend();
  await tf.setBackend('cpu');
  const topology = withZeroInitializers(model.toJSON(null, false)) as tf.io.ModelJSON['modelTopology'];
  const copy = await tf.models.modelFromJSON({ modelTopology: topology });
  const optimizer = (probe.optimizer ?? (() => tf.train.sgd(0.01)))();
  try {
    // Zeros are valid for every layer, embeddings (index 0) included; kernels do not depend on values.
    const xs = copy.inputs.map((input) => tf.zeros(input.shape.map((d) => d ?? 2)));
    const variables = copy.trainableWeights.map((w) => w.read() as tf.Variable);
    const used = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => {
        const outputs = copy.apply(xs.length === 1 ? xs[0]! : xs, { training: true }) as tf.Tensor | tf.Tensor[];
        const ys = Array.isArray(outputs) ? outputs : [outputs];
        const losses = ys.map((y) => (probe.loss ? probe.loss(tf.zerosLike(y), y) : tf.sum(y)));
        return tf.addN(losses) as tf.Scalar;
      }, variables);
      optimizer.applyGradients(grads);
      tf.dispose([value, ...Object.values(grads)]);
    });
    tf.dispose(xs);
    // Profiled names include custom-gradient wrappers (e.g. fusedMatMul__op) that are not kernels.
    const kernels = new Set(used.kernels.map((k) => k.name).filter((name) => tf.getKernel(name, 'cpu') !== undefined));
    return [...kernels].filter((name) => tf.getKernel(name, backendName) === undefined).sort();
  } finally {
    optimizer.dispose();
    copy.dispose();
    await tf.setBackend(active);
  }
}
