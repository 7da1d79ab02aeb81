// Fetch-only HTTP helpers (no node: modules), so the same code runs in Node, browsers and
// React Native; every failure becomes a ModelLoadError that carries the URL and status.
import { ModelLoadError } from './errors.js';

export type Fetch = typeof fetch;

/** GETs `url`; throws ModelLoadError for a network failure or a non-2xx answer. */
export async function get(fetchFn: Fetch, url: URL): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url.href);
  } catch (cause) {
    throw new ModelLoadError(url.href, 'request failed', { cause });
  }
  if (!response.ok) {
    const serverMessage = await errorMessage(response);
    const detail = serverMessage === undefined ? '' : `: ${serverMessage}`;
    throw new ModelLoadError(url.href, `HTTP ${response.status}${detail}`, {
      status: response.status,
      ...(serverMessage !== undefined && { serverMessage }),
    });
  }
  return response;
}

/** The coordinator's `{error}` field, else the body text; undefined when there is no body worth showing. */
async function errorMessage(response: Response): Promise<string | undefined> {
  let text: string;
  try {
    text = (await response.text()).trim();
  } catch {
    return undefined;
  }
  if (text === '') return undefined;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string') return body.error;
  } catch {
    // Not JSON (a proxy's HTML page, say): the text itself is the best we have.
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export async function readText(response: Response, url: URL): Promise<string> {
  try {
    return await response.text();
  } catch (cause) {
    throw new ModelLoadError(url.href, 'reading the response body failed', { cause });
  }
}

/**
 * Reads a body to the end, calling `onBytes` as chunks arrive. Falls back to arrayBuffer()
 * where the platform's Response has no readable stream (React Native's fetch).
 */
export async function readBytes(response: Response, url: URL, onBytes: (count: number) => void): Promise<ArrayBuffer> {
  try {
    const reader = response.body?.getReader();
    if (reader === undefined) {
      const buffer = await response.arrayBuffer();
      onBytes(buffer.byteLength);
      return buffer;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
      onBytes(value.byteLength);
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return bytes.buffer;
  } catch (cause) {
    throw new ModelLoadError(url.href, 'reading the response body failed', { cause });
  }
}
