// Public surface of the all-reduce layer.
export type { MessageBus, Subscription } from './bus.ts';
export { NatsBus, connectNats } from './nats-bus.ts';
export { Collective, type CollectiveOptions } from './collective.ts';
export {
  AllReduceAbortedError,
  AllReduceMismatchError,
  AllReduceTimeoutError,
  CollectiveClosedError,
  type MissingFromRank,
  type TimeoutDetails,
} from './errors.ts';
export { allReduceSubject } from './subject.ts';
