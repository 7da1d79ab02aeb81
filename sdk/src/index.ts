// The SDK's public API: load a published Syncline model and run it, in Node or at the edge.
export { loadModel, type LoadOptions } from './load.js';
export { SynclineModel, type ModelInfo } from './model.js';
export type { ModelInput } from './input.js';
export type { ModelRef, ModelSource } from './source.js';
export type { BackendName } from './backend.js';
export { IntegrityCheck, ModelIntegrityError, ModelLoadError } from './errors.js';
