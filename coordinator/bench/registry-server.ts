// One server of the registry bench, in a process of its own (the load comes from another):
//   registry-server.ts coordinator <nats-url> <account key JSON>   the coordinator, serving what is published in NATS
//   registry-server.ts static <folder>          serve-static over a folder, a plain Node file server
// Prints `url=<base URL>` once it listens, and runs until killed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import serveStatic from 'serve-static';
import { generateSecrets } from '../src/auth/secrets.js';
import { startCoordinator } from '../src/coordinator.js';
import { parseNatsAccountKey } from '../src/nats-auth/index.js';

const [kind, target, accountKey] = process.argv.slice(2);
if (kind === 'coordinator' && target && accountKey) {
  const coordinator = await startCoordinator({ natsUrl: target, natsAccountKey: parseNatsAccountKey(JSON.parse(accountKey)), secrets: generateSecrets() });
  console.log(`url=${coordinator.httpUrl}`);
} else if (kind === 'static' && target) {
  const serve = serveStatic(target, { index: false });
  const server = createServer((req, res) =>
    serve(req, res, () => {
      res.statusCode = 404;
      res.end();
    }),
  );
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log(`url=http://127.0.0.1:${(server.address() as AddressInfo).port}`);
} else {
  console.error('usage: registry-server.ts coordinator <nats-url> <account key JSON> | static <folder>');
  process.exit(2);
}
