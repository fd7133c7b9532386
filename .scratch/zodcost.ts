import { z } from 'zod';
const o = (d: string) => z.string().optional().describe(d);
const TokenForm = z.object({ grant_type: o('a'), subject_token: o('b'), subject_token_type: o('c'), actor_token: o('d'), actor_token_type: o('e'), resource: z.union([z.string(), z.array(z.string())]).optional(), audience: o('f'), scope: o('g'), requested_token_type: o('h'), session_id: o('i'), client_id: o('j'), client_secret: o('k') });
const TokenResponse = z.object({ access_token: z.string(), issued_token_type: z.literal('urn:ietf:params:oauth:token-type:jwt'), token_type: z.literal('Bearer'), expires_in: z.number().int(), scope: z.string(), session_id: z.string(), request_id: z.string() });
const body = { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: 'x'.repeat(600), subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', resource: 'resource://payments', scope: 'payments:read payments:write' };
const resp = { access_token: 'y'.repeat(700), issued_token_type: 'urn:ietf:params:oauth:token-type:jwt' as const, token_type: 'Bearer' as const, expires_in: 300, scope: 'a b', session_id: 'ses_x', request_id: 'req_y' };
for (let r = 0; r < 3; r++) {
  let t = performance.now(); for (let i = 0; i < 100000; i++) TokenForm.safeParse(body); const a = (performance.now() - t) * 10;
  t = performance.now(); for (let i = 0; i < 100000; i++) TokenResponse.safeParse(resp); const b = (performance.now() - t) * 10;
  t = performance.now(); for (let i = 0; i < 100000; i++) JSON.stringify(resp); const c = (performance.now() - t) * 10;
  console.log('form parse us', (a/1000).toFixed(2), 'resp parse us', (b/1000).toFixed(2), 'stringify us', (c/1000).toFixed(2));
}
