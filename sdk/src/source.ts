// Where a model lives: the coordinator's layout,
//   {base}/v1/models/{name}/{version|latest}[/{float16|uint8}]/model.json
// and the shard folder beside it. A model.json URL outside that layout loads too, but has no
// `latest` to check for updates against and no quantized variants.

/** Weight precision: `float32` is the model as published; the others are variants the coordinator derives. */
export const QUANTIZATIONS = ['float32', 'float16', 'uint8'] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];

/** A model on a coordinator; `version` defaults to 'latest'. */
export interface ModelRef {
  baseUrl: string;
  name: string;
  version?: number | 'latest';
}

/** A full model.json URL, or a model on a coordinator. */
export type ModelSource = string | ModelRef;

/** A model.json URL in the coordinator's layout, taken apart. */
export interface ModelLocation {
  /** Ends with '/'. */
  baseUrl: string;
  name: string;
  version: number | 'latest';
  quantization: Quantization;
}

const LAYOUT = /^(.*\/)v1\/models\/([^/]+)\/(latest|[1-9]\d*)\/(?:(float16|uint8)\/)?model\.json$/;

export function isQuantization(value: unknown): value is Quantization {
  return QUANTIZATIONS.some((q) => q === value);
}

/** The model.json URL of a location. */
export function locationUrl(location: ModelLocation): URL {
  const variant = location.quantization === 'float32' ? '' : `${location.quantization}/`;
  return new URL(`v1/models/${encodeURIComponent(location.name)}/${location.version}/${variant}model.json`, location.baseUrl);
}

/** Takes a model.json URL in the coordinator's layout apart; undefined for any other URL. */
export function parseModelUrl(url: URL): ModelLocation | undefined {
  const match = LAYOUT.exec(url.pathname);
  if (match === null || url.search !== '' || url.hash !== '') return undefined;
  const [, prefix = '/', name = '', version = '', variant = 'float32'] = match;
  return {
    baseUrl: new URL(prefix, url).href,
    name: decodeURIComponent(name),
    version: version === 'latest' ? 'latest' : Number(version),
    quantization: isQuantization(variant) ? variant : 'float32',
  };
}

/**
 * Where `source` is, asking for `quantization` (default: float32, or whatever variant a
 * model.json URL names). Throws TypeError for an argument that cannot name a model, or a
 * variant asked of a URL outside the coordinator's layout.
 */
export function locate(source: ModelSource, quantization?: Quantization): { url: URL; location: ModelLocation | undefined } {
  if (quantization !== undefined && !isQuantization(quantization)) {
    throw new TypeError(`quantization must be one of ${QUANTIZATIONS.join(', ')}, got ${String(quantization)}`);
  }
  if (typeof source === 'string') {
    const url = new URL(source);
    const location = parseModelUrl(url);
    if (quantization === undefined || location?.quantization === quantization) return { url, location };
    if (location === undefined) {
      if (quantization === 'float32') return { url, location };
      throw new TypeError(`${url.href} is not a coordinator model URL, so it has no ${quantization} variant`);
    }
    if (location.quantization !== 'float32') {
      throw new TypeError(`${url.href} names the ${location.quantization} variant, but ${quantization} was asked for`);
    }
    const variant = { ...location, quantization };
    return { url: locationUrl(variant), location: variant };
  }
  const { baseUrl, name, version = 'latest' } = source;
  if (name === '') throw new TypeError('model name must not be empty');
  if (version !== 'latest' && !(Number.isInteger(version) && version > 0)) {
    throw new TypeError(`model version must be a positive integer or 'latest', got ${String(version)}`);
  }
  // A trailing slash makes a base URL with a path prefix (https://host/syncline) keep it.
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
  const location = { baseUrl: base, name, version, quantization: quantization ?? 'float32' };
  return { url: locationUrl(location), location };
}

/** The model.json URL for a source; throws TypeError for an argument that cannot name a model. */
export function modelJsonUrl(source: ModelSource, quantization?: Quantization): URL {
  return locate(source, quantization).url;
}

/**
 * The folder that a model.json's shard paths are relative to. For a `latest` URL this is the
 * resolved version's folder, so a publish that lands between our requests cannot hand us
 * shards from a different version than the model.json we hold.
 */
export function shardBaseUrl(modelJson: URL, version: number): URL {
  const location = parseModelUrl(modelJson);
  if (location === undefined) return new URL('.', modelJson);
  return new URL('.', locationUrl({ ...location, version }));
}
