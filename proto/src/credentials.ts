// How a credential travels on every gRPC call, for users and workers alike: a bearer token in
// the `authorization` metadata. Clients add it with one interceptor; the coordinator reads it
// with bearerFrom. Defined here, with the wire contract, so both sides agree.
import { InterceptingCall, type ClientOptions, type Interceptor, type Metadata } from '@grpc/grpc-js';

export const AUTHORIZATION_METADATA = 'authorization';

/** The token of `authorization: Bearer <token>`, or undefined when there is none. */
export function bearerFrom(metadata: Metadata): string | undefined {
  const value = metadata.get(AUTHORIZATION_METADATA)[0];
  if (typeof value !== 'string') return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1];
}

/** A client interceptor that sends `token` with every call (unary and streaming). */
export function bearerInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(AUTHORIZATION_METADATA, `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/** Client options that send `token` with every call (none without a token). */
export function withBearer(token: string | undefined, options: ClientOptions = {}): ClientOptions {
  return token ? { ...options, interceptors: [...(options.interceptors ?? []), bearerInterceptor(token)] } : options;
}
