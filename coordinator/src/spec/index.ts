// The job-spec checks without the rest of the coordinator: the CLI runs them when no coordinator is reachable.
export { UNKNOWN_BASE, validateJobSpec } from './validate.js';
export { InvalidSpecError } from '../errors.js';
