import { signUp } from './auth.js';
import type { LoadRequest } from './load.js';
import { ownProfileRequest, publicProfileRequest } from './profiles.js';

/**
 * One benchmarked request: how to prepare it against a running Tessera (sign up, upload…),
 * and the goal its ratio to a bare Fastify route serving the same bytes must reach.
 */
export interface Scenario {
  name: string;
  /** the ratio goal from the issue, e.g. 0.8 */
  goal: number;
  prepare(baseUrl: string): Promise<LoadRequest>;
}

export const SCENARIOS: Scenario[] = [
  { name: 'GET /health', goal: 0.8, prepare: async () => ({ path: '/health' }) },
  { name: 'GET /ready (JSON, pings each dependency)', goal: 0, prepare: async () => ({ path: '/ready' }) },
  {
    name: 'GET /api/v1/auth/me (valid bearer token)',
    goal: 0.5,
    prepare: async (baseUrl) => {
      const account = await signUp(baseUrl);
      return { path: '/api/v1/auth/me', headers: { authorization: `Bearer ${account.accessToken}` } };
    },
  },
  // issue 5
  { name: 'GET /api/v1/users/:id/profile (anonymous, public profile)', goal: 0.6, prepare: publicProfileRequest },
  { name: 'GET /api/v1/users/me/profile (valid bearer token)', goal: 0.5, prepare: ownProfileRequest },
];
