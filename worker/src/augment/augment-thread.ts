// The augmentation thread: augments batches that the training thread hands it (transferred, not
// copied) and hands them back, so the next batch is prepared while the current step computes.
import { parentPort, workerData } from 'node:worker_threads';
import { augmentBatch } from './augment.js';
import type { AugmentRequest, AugmentResponse, AugmentThreadConfig } from './augmenter.js';

const port = parentPort!;
const { spec, shape, seed } = workerData as AugmentThreadConfig;

port.on('message', (req: AugmentRequest) => {
  let response: AugmentResponse;
  try {
    augmentBatch(req.x, req.samples, spec, shape, seed, req.epoch);
    response = { id: req.id, x: req.x };
  } catch (err) {
    response = { id: req.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(response, response.x ? [response.x.buffer as ArrayBuffer] : []);
});
