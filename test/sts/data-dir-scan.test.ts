import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startTestWrit } from '../support/harness.js';

/**
 * Nothing secret reaches the disk: after a full session of admin writes, exchanges (with an actor), a denial,
 * introspection, revocation and a restart-worthy flush of checkpoints, every file under WRIT_DATA_DIR (the
 * SQLite ledger and its WAL, projection checkpoints, keys) is scanned for the tokens, secrets and subject/actor
 * claims that passed through. Only ids (subject `sub`, actor `sub`) may be recorded.
 */

const ISSUER = 'https://idp.scan.test';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('data dir scan', () => {
  it('finds no token, client secret, admin key secret or subject/actor claim on disk', async () => {
    const t = await startTestWrit({ ledger: 'sqlite' });
    const secrets: Record<string, string> = {};
    try {
      const inject = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = t.root) => {
        const res = await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
        return { status: res.statusCode, body: res.body ? res.json() : undefined };
      };
      const zone = (await inject('POST', '/v1/zones', { name: 'scan' })).body.zone_id as string;
      const key = (await inject('POST', `/v1/zones/${zone}/admin-keys`, { name: 'ops' })).body;
      secrets.admin_key_token = key.token;
      secrets.admin_key_secret = String(key.token).split('.')[1]!;
      const pair = await generateKeyPair('ES256');
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'scan-1', alg: 'ES256' };
      expect((await inject('POST', `/v1/zones/${zone}/issuers`, { issuer: ISSUER, jwks: { keys: [jwk] } })).status).toBe(201);
      const app = (await inject('POST', `/v1/zones/${zone}/applications`, { name: 'svc' })).body;
      secrets.client_secret = app.client_secret;
      const res = (await inject('POST', `/v1/zones/${zone}/resources`, { identifier: 'resource://vault', scopes: ['vault:read', 'vault:write'] })).body;
      expect((await inject('POST', `/v1/zones/${zone}/grants`, { application_id: app.application_id, resource_id: res.resource_id, scopes: ['vault:read'] })).status).toBe(201);

      const claims = {
        email: 'canary-email-7f3a@example.test',
        name: 'Canary Subject Name 91c2',
        groups: ['canary-group-55aa'],
        ssn: 'canary-ssn-123-45-6789',
      };
      const subjectToken = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'scan-1' }).setIssuer(ISSUER).setSubject('user-scan').setIssuedAt().setExpirationTime('5m').sign(pair.privateKey);
      const actorToken = await new SignJWT({ role: 'canary-actor-role-e4d1' }).setProtectedHeader({ alg: 'ES256', kid: 'scan-1' }).setIssuer(ISSUER).setSubject('agent-scan').setIssuedAt().setExpirationTime('5m').sign(pair.privateKey);
      secrets.subject_token = subjectToken;
      secrets.subject_token_signature = subjectToken.split('.')[2]!;
      secrets.actor_token = actorToken;
      for (const v of [claims.email, claims.name, claims.groups[0]!, claims.ssn, 'canary-actor-role-e4d1']) secrets[`claim:${v}`] = v;

      const basic = { authorization: `Basic ${Buffer.from(`${app.application_id}:${app.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' };
      const exchange = (scope: string) =>
        t.app.inject({
          method: 'POST',
          url: '/v1/sts/token',
          headers: basic,
          payload: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT_TYPE, actor_token: actorToken, actor_token_type: JWT_TYPE, resource: 'resource://vault', scope }).toString(),
        });
      const allowed = await exchange('vault:read');
      expect(allowed.statusCode).toBe(200);
      const mandate = allowed.json().access_token as string;
      secrets.mandate = mandate;
      secrets.mandate_signature = mandate.split('.')[2]!;
      expect((await exchange('vault:write')).statusCode).toBe(403);
      const introspected = await t.app.inject({ method: 'POST', url: '/v1/sts/introspect', headers: basic, payload: new URLSearchParams({ token: mandate }).toString() });
      expect(introspected.json().active).toBe(true);
      expect((await t.app.inject({ method: 'POST', url: '/v1/sts/revoke', headers: basic, payload: new URLSearchParams({ token: mandate }).toString() })).statusCode).toBe(200);
      // Flush checkpoints (snapshots of every read model) to disk before scanning.
      await t.writ.runner.checkpoint();
    } finally {
      await t.app.close();
      await t.writ.close();
    }

    const files = await filesUnder(t.dataDir);
    expect(files.some((f) => f.endsWith('ledger.db'))).toBe(true);
    expect(files.some((f) => f.endsWith('projections.db'))).toBe(true);
    const found: string[] = [];
    for (const file of files) {
      const bytes = await readFile(file);
      const text = bytes.toString('latin1');
      for (const [what, value] of Object.entries(secrets)) if (text.includes(value)) found.push(`${what} in ${file}`);
    }
    expect(found).toEqual([]);
    // The scan can see what is there: the subject id is recorded (ids are not claims).
    const ledger = (await readFile(files.find((f) => f.endsWith('ledger.db'))!)).toString('latin1') + (await readFile(files.find((f) => f.endsWith('ledger.db-wal')) ?? files[0]!)).toString('latin1');
    expect(ledger.includes('user-scan')).toBe(true);
    const { rm } = await import('node:fs/promises');
    await rm(t.dataDir, { recursive: true, force: true });
  });
});
