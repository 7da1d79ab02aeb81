// The worker as a library: join a coordinator in-process (tests), or train without one.
export { WorkerNode, type WorkerNodeOptions } from './node.js';
export { selectBackend, type BackendChoice, type BackendName } from './backend.js';
export { kernelsMissingForTraining, type TrainingProbe } from './kernels/missing-kernels.js';
export { loadDataset } from './data/registry.js';
export { loadMnist } from './data/mnist.js';
export type { Dataset, Split } from './data/dataset.js';
export { Trainer } from './train/trainer.js';
export { runJob, totalSteps } from './train/run-job.js';
export { buildModel } from './model/build.js';
export { modelFiles } from './artifacts/model-files.js';
