// Every way a collective operation can fail, one class each, exported from this one place.

/** What one rank still owed when an operation gave up. `chunkCount` 0 means a barrier hello. */
export interface MissingFromRank {
  rank: number;
  chunks: readonly number[];
  chunkCount: number;
}

/** One entry per rank, chunks ascending and distinct, ranks ascending: for rounds that wait on several things. */
export function mergeMissing(...lists: readonly MissingFromRank[][]): MissingFromRank[] {
  const byRank = new Map<number, { chunks: Set<number>; chunkCount: number }>();
  for (const m of lists.flat()) {
    const entry = byRank.get(m.rank) ?? { chunks: new Set<number>(), chunkCount: m.chunkCount };
    for (const chunk of m.chunks) entry.chunks.add(chunk);
    byRank.set(m.rank, entry);
  }
  return [...byRank.entries()]
    .sort(([a], [b]) => a - b)
    .map(([rank, { chunks, chunkCount }]) => ({ rank, chunks: [...chunks].sort((a, b) => a - b), chunkCount }));
}

export interface TimeoutDetails {
  /** The rank that gave up. */
  rank: number;
  /** "start barrier", "allReduceSum step 3", "broadcast tag 1 from rank 0"… */
  operation: string;
  timeoutMs: number;
  missing: readonly MissingFromRank[];
}

/** Peers did not deliver in time: they are likely dead, partitioned or on another step. */
export class AllReduceTimeoutError extends Error {
  readonly rank: number;
  readonly operation: string;
  readonly timeoutMs: number;
  readonly missing: readonly MissingFromRank[];

  constructor(details: TimeoutDetails, options?: ErrorOptions) {
    super(
      `rank ${details.rank}: ${details.operation} timed out after ${details.timeoutMs} ms; ` +
        `never arrived: ${details.missing.map(describeMissing).join('; ')}`,
      options,
    );
    this.name = 'AllReduceTimeoutError';
    this.rank = details.rank;
    this.operation = details.operation;
    this.timeoutMs = details.timeoutMs;
    this.missing = details.missing;
  }

  /** Ranks that never delivered something: the ones to suspect. */
  get missingRanks(): number[] {
    return this.missing.map((m) => m.rank);
  }
}

/** The caller's AbortSignal fired; its reason is the cause. */
export class AllReduceAbortedError extends Error {
  constructor(operation: string, options?: ErrorOptions) {
    super(`${operation} aborted`, options);
    this.name = 'AllReduceAbortedError';
  }
}

/** A peer sent a chunk that disagrees with ours: different buffer length or chunk size. */
export class AllReduceMismatchError extends Error {
  constructor(operation: string, detail: string, options?: ErrorOptions) {
    super(`${operation}: ${detail}`, options);
    this.name = 'AllReduceMismatchError';
  }
}

/** The Collective was closed before or during the operation. */
export class CollectiveClosedError extends Error {
  constructor(operation: string, options?: ErrorOptions) {
    super(`${operation}: collective closed`, options);
    this.name = 'CollectiveClosedError';
  }
}

const MAX_RANGES = 8;

function describeMissing(m: MissingFromRank): string {
  if (m.chunkCount === 0) return `hello from rank ${m.rank}`;
  const ranges = toRanges(m.chunks);
  const shown = ranges.slice(0, MAX_RANGES).join(',');
  const more = ranges.length > MAX_RANGES ? `,… (${ranges.length - MAX_RANGES} more ranges)` : '';
  return `rank ${m.rank} chunk${m.chunks.length === 1 ? '' : 's'} ${shown}${more} of ${m.chunkCount}`;
}

/** [0,1,2,5] → ["0-2", "5"]; expects ascending chunk numbers. */
function toRanges(chunks: readonly number[]): string[] {
  const ranges: string[] = [];
  let start = 0;
  for (let i = 1; i <= chunks.length; i++) {
    if (i < chunks.length && chunks[i] === chunks[i - 1]! + 1) continue;
    const first = chunks[start]!;
    const last = chunks[i - 1]!;
    ranges.push(first === last ? `${first}` : `${first}-${last}`);
    start = i;
  }
  return ranges;
}
