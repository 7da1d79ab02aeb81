// Which all-reduce algorithm and compression a job uses: the spec's choice, or for "auto" the first
// algorithm in AUTO whose capability check accepts the buffer and world size (horovod's operation manager).
import { directAllReduce } from './direct.js';
import { ringAllReduce } from './ring.js';
import { AlgorithmName, Compression, type AllReduceAlgorithm } from './round.js';
import { shardedAllReduce } from './sharded.js';

export const AlgorithmChoice = ['auto', ...AlgorithmName] as const;
export type AlgorithmChoice = (typeof AlgorithmChoice)[number];

const BY_NAME: Readonly<Record<AlgorithmName, AllReduceAlgorithm>> = {
  direct: directAllReduce,
  ring: ringAllReduce,
  sharded: shardedAllReduce,
};

/**
 * Direct costs one hop and one message out per rank but (N − 1) × S bytes into every rank; sharded two
 * hops and N messages out, but 2(N − 1)/N × S in. Up to a few tens of KB per-message costs and the
 * extra hop dominate and direct wins; from 64 KB on sharded did, at 2, 4 and 8 ranks, in
 * worker/bench/allreduce.ts. (Ring moves more bytes than sharded, since its partial sums travel as
 * float64, over 2(N − 1) hops: through one NATS server it never wins, so auto never picks it.)
 */
export const DIRECT_MAX_BYTES = 32 * 1024;

const AUTO: readonly { algorithm: AllReduceAlgorithm; suits(bytes: number, worldSize: number): boolean }[] = [
  { algorithm: directAllReduce, suits: (bytes, worldSize) => worldSize <= 1 || bytes <= DIRECT_MAX_BYTES },
  { algorithm: shardedAllReduce, suits: () => true },
];

export function selectAlgorithm(choice: AlgorithmChoice, bytes: number, worldSize: number): AllReduceAlgorithm {
  if (choice !== 'auto') return BY_NAME[choice];
  return AUTO.find((candidate) => candidate.suits(bytes, worldSize))!.algorithm;
}

/**
 * The job spec's `communication` as Collective options. Empty strings mean the defaults ("auto", "none");
 * anything else unknown throws, although the coordinator has validated the spec already.
 */
export function communicationOptions(spec: { algorithm: string; compression: string } | undefined): {
  algorithm: AlgorithmChoice;
  compression: Compression;
} {
  const algorithm = spec?.algorithm || 'auto';
  const compression = spec?.compression || 'none';
  if (!isOneOf(algorithm, AlgorithmChoice)) {
    throw new RangeError(`communication.algorithm must be one of ${AlgorithmChoice.join(', ')}, got "${algorithm}"`);
  }
  if (!isOneOf(compression, Compression)) {
    throw new RangeError(`communication.compression must be one of ${Compression.join(', ')}, got "${compression}"`);
  }
  return { algorithm, compression };
}

function isOneOf<T extends string>(value: string, values: readonly T[]): value is T {
  return (values as readonly string[]).includes(value);
}
