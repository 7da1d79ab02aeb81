// Lists the keys of a JetStream key-value bucket from the stream's own subject index.
// (nats.js kv.keys() walks an ordered consumer and stops when the server reports nothing
// pending; nats-server 2.9 reports that too early for last-per-subject consumers, and keys
// written moments ago go missing. The stream state has no such race.)
import type { NatsConnection } from 'nats';

export async function kvKeys(nc: NatsConnection, bucket: string, filter = '>'): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
  return Object.keys(info.state.subjects ?? {})
    .map((subject) => subject.slice(prefix.length))
    .sort();
}
