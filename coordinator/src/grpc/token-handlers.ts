// The token RPCs of JobService (admin only, by the policy): create, list, revoke.
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { JobServiceServer } from '@syncline/proto';
import type { Principal } from '../auth/principal.js';
import { roleFromProto } from '../auth/roles.js';
import type { TokenStore } from '../auth/token-store.js';
import { InvalidRequestError } from '../errors.js';

type Unary = <Req, Res>(fn: (req: Req, who: Principal) => Promise<Res>) => (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

export function tokenHandlers(tokens: TokenStore, unary: Unary): Pick<JobServiceServer, 'createToken' | 'listTokens' | 'revokeToken'> {
  return {
    createToken: unary(async (req, who) => {
      const role = roleFromProto(req.role);
      if (!role || role === 'worker') throw new InvalidRequestError('role: one of admin, user, reader');
      return tokens.create(req.name, role, who.name);
    }),
    listTokens: unary(async () => ({ tokens: await tokens.list() })),
    revokeToken: unary(async (req) => ({ info: await tokens.revoke(req.token) })),
  };
}
