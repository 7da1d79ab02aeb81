// How many chunks a rank may have in flight on each of its streams. nats-server disconnects a
// subscriber as a "slow consumer" once more than max_pending (64 MB by default) waits for it, and a
// busy worker reads slowly; each algorithm bounds what can wait for any one rank by the windows of the
// streams that end there, and the default keeps that total within half the server's default.
export const DEFAULT_IN_FLIGHT_BYTES = 32 * 1024 * 1024;

/**
 * Chunks of up to `frameBytes` each that one stream may have unacknowledged, when up to `streams` such
 * streams can converge on one rank and `inFlightBytes` may wait for it. At least 1, so a rank always
 * makes progress (a chunk larger than the budget still goes, one at a time).
 */
export function windowChunks(frameBytes: number, streams: number, inFlightBytes: number): number {
  return Math.max(1, Math.floor(inFlightBytes / (Math.max(1, streams) * frameBytes)));
}
