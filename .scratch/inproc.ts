import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { buildApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { createWrit } from '../src/main.js';
const ROOT = 'bench-root-token-0123456789abcdef';
const dir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'inproc-'));
const config = loadConfig({ WRIT_DATA_DIR: join(dir, 'data'), WRIT_ADMIN_TOKEN: ROOT, WRIT_PORT: '0', WRIT_ISSUER: 'http://127.0.0.1', WRIT_RATE_LIMIT: '1000000', WRIT_LOG_LEVEL: 'warn', ...(process.env.MEM ? { WRIT_EVENTSTORE: 'memory:' } : {}) });
const writ = await createWrit(config);
const app = await buildApp(writ, { logger: false });
const admin = async (url: string, body: unknown) => (await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${ROOT}` }, payload: body as object })).json() as Record<string, string>;
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
const z = (await admin('/v1/zones', { name: 'b' })).zone_id!;
await admin(`/v1/zones/${z}/issuers`, { issuer: 'https://idp', jwks: { keys: [jwk] } });
const a = await admin(`/v1/zones/${z}/applications`, { name: 'a' });
const r = await admin(`/v1/zones/${z}/resources`, { identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] });
await admin(`/v1/zones/${z}/grants`, { application_id: a.application_id, resource_id: r.resource_id, scopes: ['payments:read', 'payments:write'] });
const basic = `Basic ${Buffer.from(`${a.application_id}:${a.client_secret}`).toString('base64')}`;
const now = Math.floor(Date.now() / 1000);
const bodies: Record<string, string>[] = [];
for (let i = 0; i < 1000; i++) {
  const t = await new SignJWT({ iss: 'https://idp', sub: `u${i}`, iat: now, exp: now + 3600 }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
  bodies.push({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: t, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', resource: 'resource://payments', scope: 'payments:read payments:write' });
}
let n = 0; let i = 0;
const orig = writ.sts.exchange; let inner = 0; let innerN = 0;
(writ.sts as any).exchange = async (req: any) => { const t = performance.now(); try { return await orig(req); } finally { inner += performance.now() - t; innerN++; } };
let outer = 0;
const mode = process.env.MODE ?? 'direct';
async function one() {
  const body = bodies[i++ % bodies.length]!;
  if (mode === 'direct') await writ.sts.exchange({ requestId: `r${i}-${Math.random()}`, authorization: basic, body });
  else { const t = performance.now(); const res = await app.inject({ method: 'POST', url: '/v1/sts/token', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(body).toString() }); if (res.statusCode !== 200) throw new Error(res.body); outer += performance.now() - t; }
  n++;
}
const conc = Number(process.env.CONC ?? 32);
for (let w = 0; w < 2; w++) { const end = Date.now() + 2000; n = 0; const t0 = performance.now(); await Promise.all(Array.from({ length: conc }, async () => { while (Date.now() < end) await one(); })); console.log('inner ms', (inner/innerN).toFixed(2), 'outer ms', (outer/Math.max(1,n)).toFixed(2)); inner = 0; innerN = 0; outer = 0; console.log(mode, process.env.MEM ? 'memory' : 'sqlite', 'conc', conc, 'per sec', Math.round(n / ((performance.now() - t0) / 1000))); }
const s = (writ.store as any).stats?.(); console.log('store stats', s);
await app.close(); await writ.close(); process.exit(0);
