// The SDK's public API: load a published Syncline model and run it, in Node or at the edge.
export { loadModel, type LoadOptions } from './load.js';
export { SynclineModel, type ClassScore, type ModelInfo, type WatchOptions } from './model.js';
export type { ModelInput, NumericArray } from './input.js';
export type { ImageInput, ImageLike, ImageOptions } from './image.js';
export { QUANTIZATIONS, type ModelRef, type ModelSource, type Quantization } from './source.js';
export { BACKENDS, setWasmPaths, type BackendName } from './backend.js';
export { cacheStorage, memoryCache, type ModelCache } from './cache.js';
export { IntegrityCheck, ModelIntegrityError, ModelLoadError, ModelSignatureError, SignatureProblem } from './errors.js';
export type { MaximizeOptions, MaximizedInput } from './maximize.js';
