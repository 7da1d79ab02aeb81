// N Collectives over one in-memory server, for unit tests of the collective and its algorithms.
import { Collective, type CollectiveOptions } from '../../src/allreduce/collective.js';
import { MemoryServer, RecordingBus, type MemoryServerOptions } from './memory-bus.js';

export interface World {
  server: MemoryServer;
  buses: RecordingBus[];
  ranks: Collective[];
}

export interface WorldOptions extends Partial<Pick<CollectiveOptions, 'jobId' | 'generation' | 'timeoutMs' | 'startTimeoutMs' | 'maxChunkBytes' | 'maxInFlightBytes' | 'algorithm' | 'compression'>> {
  server?: MemoryServerOptions;
}

export function createWorld(worldSize: number, opts: WorldOptions = {}): World {
  const { server: serverOptions, ...collectiveOptions } = opts;
  const server = new MemoryServer(serverOptions);
  const buses = Array.from({ length: worldSize }, () => new RecordingBus(server.connect()));
  const ranks = buses.map(
    (bus, rank) =>
      new Collective({
        jobId: 'job-1',
        generation: 0,
        timeoutMs: 5_000,
        ...collectiveOptions,
        bus,
        rank,
        worldSize,
      }),
  );
  return { server, buses, ranks };
}

export function closeWorld(world: World): void {
  for (const rank of world.ranks) rank.close();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Every rank starts after its own delay and runs all its steps without waiting for the others (so peers
 * are regularly a step ahead); returns results[step][rank].
 */
export async function runSteps(world: World, inputs: readonly (readonly Float32Array[])[], startDelays: readonly number[] = []): Promise<Float32Array[][]> {
  const perRank = await Promise.all(
    world.ranks.map(async (collective, rank) => {
      await sleep(startDelays[rank] ?? 0);
      await collective.start();
      const out: Float32Array[] = [];
      for (let step = 0; step < inputs.length; step++) out.push(await collective.allReduceSum(inputs[step]![rank]!, step));
      return out;
    }),
  );
  return inputs.map((_, step) => perRank.map((results) => results[step]!));
}
