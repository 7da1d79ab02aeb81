// The SDK's Node-only extras (not in the browser bundle).
export { fetchTrusting } from './node-fetch.js';
