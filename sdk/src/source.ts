// Where a model lives: the coordinator's /v1/models/{name}/{version}/model.json layout.

/** A model on a coordinator; `version` defaults to 'latest'. */
export interface ModelRef {
  baseUrl: string;
  name: string;
  version?: number | 'latest';
}

/** A full model.json URL, or a model on a coordinator. */
export type ModelSource = string | ModelRef;

/** The model.json URL for a source; throws TypeError for an argument that cannot name a model. */
export function modelJsonUrl(source: ModelSource): URL {
  if (typeof source === 'string') return new URL(source);
  const { baseUrl, name, version = 'latest' } = source;
  if (name === '') throw new TypeError('model name must not be empty');
  if (version !== 'latest' && !(Number.isInteger(version) && version > 0)) {
    throw new TypeError(`model version must be a positive integer or 'latest', got ${String(version)}`);
  }
  // A trailing slash makes a base URL with a path prefix (https://host/syncline) keep it.
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return new URL(`v1/models/${encodeURIComponent(name)}/${version}/model.json`, base);
}

/**
 * The folder that a model.json's shard paths are relative to. For a `latest` URL this is the
 * resolved version's folder, so a publish that lands between our requests cannot hand us
 * shards from a different version than the model.json we hold.
 */
export function shardBaseUrl(modelJson: URL, version: number): URL {
  const folder = new URL('.', modelJson);
  const segments = folder.pathname.split('/');
  // The folder's path ends with '/', so its own name is the second-to-last segment.
  if (segments.at(-2) === 'latest') return new URL(`../${version}/`, folder);
  return folder;
}
