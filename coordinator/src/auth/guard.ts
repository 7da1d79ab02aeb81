// The one gate in front of the gRPC services: every call is authenticated (a bearer token in
// the `authorization` metadata) and its role checked against the service's policy before its
// handler runs; the handler then finds the caller with principalOf(call). Failures answer
// UNAUTHENTICATED or PERMISSION_DENIED through the one status mapping (grpc/status.ts).
import type { Metadata, ServerDuplexStream, ServerReadableStream, ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedHandleCall } from '@grpc/grpc-js';
import { bearerFrom } from '@syncline/proto';
import { PermissionDeniedError } from '../errors.js';
import { toServiceError } from '../grpc/status.js';
import type { Principal } from './principal.js';
import { roleAllows, type Role } from './roles.js';

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown> | ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;

const principals = new WeakMap<object, Principal>();

/** The caller of a call that passed the guard. */
export function principalOf(call: object): Principal {
  const p = principals.get(call);
  if (!p) throw new Error('principalOf: the call did not pass the auth guard');
  return p;
}

export type Authenticate = (token: string | undefined) => Promise<Principal>;

const WHO: Record<Role, string> = { admin: 'an admin token', user: 'a user or admin token', reader: 'a token of any user role', worker: 'the worker credential' };

/** Wraps every handler of `service`: `policy` names the least role each method needs. */
export function guard<S extends object>(service: S, policy: { [K in keyof S]: Role }, authenticate: Authenticate): S {
  const out: Record<string, UntypedHandleCall> = {};
  for (const [method, handler] of Object.entries(service) as [string, (call: AnyCall, callback?: sendUnaryData<unknown>) => void][]) {
    const least = policy[method as keyof S];
    out[method] = (call: AnyCall, callback?: sendUnaryData<unknown>) => {
      authenticate(bearerFrom(call.metadata as Metadata))
        .then((principal) => {
          if (!roleAllows(principal.role, least)) {
            throw new PermissionDeniedError(`${method} needs ${WHO[least]}; the token "${principal.name}" is a ${principal.role} token`);
          }
          principals.set(call, principal);
        })
        .then(
          () => handler(call, callback),
          (err: unknown) => {
            const status = toServiceError(err);
            // Unary and client-streaming calls answer through the callback; streams from the
            // server send their status with an 'error' event.
            if (callback) callback(status);
            else call.emit('error', status);
          },
        );
    };
  }
  return out as S;
}
