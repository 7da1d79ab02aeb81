// selectBackend in Node: wasm, then cpu; a preferred backend first; names this platform cannot
// run (webgl, webgpu, an unregistered one) fall through to the default order.
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { defaultBackendOrder, selectBackend } from '../src/backend.js';

test.serial('in Node the default order is wasm then cpu, and wasm starts', async (t) => {
  t.deepEqual(await defaultBackendOrder(), ['wasm', 'cpu']);
  t.is(await selectBackend(), 'wasm');
  t.is(tf.getBackend(), 'wasm');
});

test.serial('a preferred backend comes first; one that cannot run here falls through', async (t) => {
  t.is(await selectBackend('cpu'), 'cpu');
  t.is(tf.getBackend(), 'cpu');
  t.is(await selectBackend('webgl'), 'wasm');
  t.is(await selectBackend('webgpu'), 'wasm');
  t.is(await selectBackend('rn-webgl'), 'wasm');
  t.is(tf.getBackend(), 'wasm');
});
