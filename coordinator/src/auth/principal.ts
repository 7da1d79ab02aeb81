// Who is calling: the token that authenticated the request. Owners of jobs, models and
// datasets are token names, so a token replaced under the same name keeps what it owned.
import type { Role } from './roles.js';

export interface Principal {
  id: string;
  name: string;
  role: Role;
}
