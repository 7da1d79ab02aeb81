// The NATS side of the fault harness: taking a server of the local cluster down and up again,
// and waiting for what JetStream sees of it (a server offline to placement, every replica current).
import { once } from 'node:events';
import { NatsCredentialIssuer } from '@syncline/coordinator';
import { isTransientNatsError, natsServers } from '@syncline/proto';
import { connect, jwtAuthenticator, type JetStreamManager } from 'nats';
import type { LocalCluster } from '../../src/local-cluster.js';
import { eventually } from './processes.js';

export interface NatsOutage {
  /** Kill a nats-server (the first, or `server` of a cluster) when rank 0 reports this step, or just before the job is submitted … */
  step: number | 'submit';
  server?: number;
  /** Shut it down as Kubernetes does in a rolling update (SIGTERM: the cluster hears it leave), not SIGKILL. */
  graceful?: boolean;
  /** … and start it again this much later, on the same port and store (never, when absent). */
  downMs?: number;
}

export class NatsOutages {
  constructor(private readonly cluster: Pick<LocalCluster, 'nats' | 'natsUrl' | 'natsAccountKey'>) {}

  async down(outage: NatsOutage): Promise<void> {
    const server = this.cluster.nats[outage.server ?? 0]!;
    if (!outage.graceful) return server.kill();
    const exited = once(server.process, 'exit');
    server.process.kill('SIGTERM');
    await exited;
  }

  /**
   * Waits until JetStream refuses to place a stream on every server. A server shut down gracefully
   * is offline to the others at once; one killed (SIGKILL) was not within 30 s here, and until
   * then a 3-replica stream is still created.
   */
  untilPlacementRefused(): Promise<void> {
    return this.withJetStream((jsm) =>
      eventually(
        'JetStream to refuse placing a stream on every server',
        async () => {
          try {
            await jsm.streams.add({ name: 'placement-probe', subjects: ['placement.probe'], num_replicas: this.cluster.nats.length });
            await jsm.streams.delete('placement-probe');
            return false;
          } catch (err) {
            const { message, api_error: api } = err as Error & { api_error?: { description?: string } };
            if (/no suitable peers|insufficient resources/i.test(`${message} ${api?.description ?? ''}`)) return true;
            // A request may also fail while the cluster elects a new meta leader: try again.
            if (!isTransientNatsError(err)) throw err;
            return false;
          }
        },
        30_000,
      ),
    );
  }

  /**
   * Waits until every stream has all its replicas current (a server started again has caught
   * up), as a rolling update waits for a ready pod before it takes the next one down: losing a
   * second server while the first still catches up leaves no quorum.
   */
  untilHealed(): Promise<void> {
    return this.withJetStream(async (jsm) => {
      let lagging: string[] = [];
      const healed = async () => {
        try {
          const streams = await jsm.streams.list().next();
          lagging = streams.filter((info) => {
            const replicas = info.cluster?.replicas ?? [];
            return info.cluster?.leader === undefined || replicas.length < info.config.num_replicas - 1 || replicas.some((r) => !r.current || r.offline);
          }).map((info) => info.config.name);
        } catch (err) {
          if (!isTransientNatsError(err)) throw err;
          lagging = [String(err)];
        }
        return lagging.length === 0;
      };
      await eventually('every NATS stream to have all its replicas current', healed, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}; still behind: ${lagging.join(', ')}`);
      });
    });
  }

  /** Runs `fn` on a connection of the account's own user (everything within the account). */
  private async withJetStream<T>(fn: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
    const creds = await new NatsCredentialIssuer(this.cluster.natsAccountKey).coordinator();
    const nc = await connect({ servers: natsServers(this.cluster.natsUrl), authenticator: jwtAuthenticator(creds.jwt, new TextEncoder().encode(creds.seed)) });
    try {
      // No account check: it is one more request that can fail while a server is away.
      return await fn(await nc.jetstreamManager({ checkAPI: false }));
    } finally {
      await nc.close();
    }
  }

  /** Starts the killed server again `downMs` later (never without). */
  async up(outage: NatsOutage): Promise<void> {
    if (outage.downMs === undefined) return;
    await new Promise((r) => setTimeout(r, outage.downMs));
    await this.cluster.nats[outage.server ?? 0]!.start();
  }
}
