// Serves a folder laid out like the coordinator's model store ({root}/{name}/{version}/file)
// over real HTTP on 127.0.0.1, with the coordinator's `latest` resolution and JSON 404s.
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface ArtifactServer {
  baseUrl: string;
  /** Paths of every request served, in order, so tests can see which URLs the SDK used. */
  requests: string[];
  close(): Promise<void>;
}

const ROUTE = /^\/v1\/models\/([^/]+)\/(latest|\d+)\/([^/]+)$/;

function notFound(res: ServerResponse, error: string): void {
  res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
}

async function latestVersion(root: string, name: string): Promise<number | undefined> {
  const entries = await readdir(path.join(root, name)).catch(() => []);
  const versions = entries.filter((e) => /^\d+$/.test(e)).map(Number);
  return versions.length === 0 ? undefined : Math.max(...versions);
}

export async function serveArtifacts(root: string): Promise<ArtifactServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(pathname);
    void (async () => {
      const match = ROUTE.exec(pathname);
      const [, rawName, requested, rawFile] = match ?? [];
      if (rawName === undefined || requested === undefined || rawFile === undefined) return notFound(res, `no route for ${pathname}`);
      const name = decodeURIComponent(rawName);
      const file = decodeURIComponent(rawFile);
      if (name.includes('..') || file.includes('..')) return notFound(res, 'bad path');
      // Like the coordinator, only model.json is served under `latest`; shards are fetched by version.
      if (requested === 'latest' && file !== 'model.json') return notFound(res, 'shards are served by version only');
      const version = requested === 'latest' ? await latestVersion(root, name) : Number(requested);
      if (version === undefined) return notFound(res, `model ${name} not found`);
      let body: Buffer;
      try {
        body = await readFile(path.join(root, name, String(version), file));
      } catch {
        return notFound(res, `model ${name} version ${version} has no ${file}`);
      }
      const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      res.writeHead(200, { 'content-type': type, 'x-syncline-version': String(version) }).end(body);
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
