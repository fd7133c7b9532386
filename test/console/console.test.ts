import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWritProcess, type WritProcess } from '../support/writ-process.js';

/**
 * /console in headless Chromium against a real server (child process) that has recorded one allowed and one
 * denied token exchange. Chromium is a test dependency (scripts/setup.sh installs Debian's): without it this
 * suite fails, it does not skip.
 */

const CHROMIUM = process.env.WRIT_CHROMIUM_PATH ?? '/usr/bin/chromium';
const ISSUER = 'https://idp.console.test';
const ALLOWED_ID = 'console-allowed-0001';
const DENIED_ID = 'console-denied-0001';

let server: WritProcess;
let browser: Browser;
let page: Page;
let shots: string;
const s = { zone: '', app: '', secret: '', resource: '', allowed: '', denied: '' };

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function exchange(subjectToken: string, scope: string, requestId: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/v1/sts/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(s.app)}:${encodeURIComponent(s.secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      'x-request-id': requestId,
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      resource: 'resource://payments',
      scope,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const field = (section: 'trace' | 'explain', name: string) => page.locator(`#${section}-fields dd[data-field="${name}"]`);

beforeAll(async () => {
  // Fail loudly, before anything else starts, when the browser is missing.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: the console test needs it. Run scripts/setup.sh (apt-get install -y chromium) or set WRIT_CHROMIUM_PATH.`);
  }
  shots = await mkdtemp(join(tmpdir(), 'writ-console-'));
  server = await startWritProcess();

  const zone = await api('POST', '/v1/zones', { name: 'console' });
  s.zone = zone.zone_id as string;
  const app = await api('POST', `/v1/zones/${s.zone}/applications`, { name: 'checkout' });
  s.app = app.application_id as string;
  s.secret = app.client_secret as string;
  const resource = await api('POST', `/v1/zones/${s.zone}/resources`, { identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] });
  s.resource = resource.resource_id as string;
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  await api('POST', `/v1/zones/${s.zone}/issuers`, { issuer: ISSUER, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] } });
  await api('POST', `/v1/zones/${s.zone}/grants`, { application_id: s.app, resource_id: s.resource, scopes: ['payments:read'] });
  const token = await new SignJWT({ email: 'bob@example.test' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setSubject('bob')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);

  const ok = await exchange(token, 'payments:read', ALLOWED_ID);
  if (ok.status !== 200) throw new Error(`allowed exchange failed: ${ok.status} ${JSON.stringify(ok.body)}`);
  s.allowed = ok.body.request_id as string;
  const no = await exchange(token, 'payments:write', DENIED_ID);
  if (no.status !== 403) throw new Error(`denied exchange: expected 403, got ${no.status} ${JSON.stringify(no.body)}`);
  s.denied = no.body.request_id as string;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  (globalThis as { __consoleProblems?: string[] }).__consoleProblems = problems;
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await server?.cleanup();
  if (shots && !process.env.WRIT_KEEP_SCREENSHOTS) await rm(shots, { recursive: true, force: true });
});

describe('/console', () => {
  it('serves the page with a strict CSP', async () => {
    const res = await fetch(`${server.url}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(s.allowed).toBe(ALLOWED_ID);
    expect(s.denied).toBe(DENIED_ID);
  });

  it('asks for the admin key and zone before calling the API', async () => {
    await page.goto(`${server.url}/console`);
    await page.fill('#request-id', s.allowed);
    await page.click('#lookup button[type=submit]');
    await expect.poll(() => page.textContent('#lookup-error')).toMatch(/admin key/i);
    expect(await page.isVisible('#trace')).toBe(false);
  });

  it('traces the allowed request: application, session, resource, scopes, version, policies, diagnostics, decision', async () => {
    await page.fill('#token', server.adminToken);
    await page.fill('#zone', s.zone);
    await page.fill('#request-id', s.allowed);
    await page.click('#lookup button[type=submit]');
    await page.waitForSelector('#trace:not(.hidden)');
    const trace = await api('GET', `/v1/zones/${s.zone}/audit/decisions/${s.allowed}`);

    expect(await field('trace', 'decision').innerText()).toBe('allow');
    expect(await field('trace', 'decision').locator('.badge.allow').count()).toBe(1);
    expect(await field('trace', 'request_id').innerText()).toBe(s.allowed);
    expect(await field('trace', 'application').innerText()).toContain(s.app);
    expect(await field('trace', 'session').innerText()).toBe(trace.session_id);
    expect(await field('trace', 'resource').innerText()).toContain('resource://payments');
    expect(await field('trace', 'requested scopes').innerText()).toBe('payments:read');
    expect(await field('trace', 'granted scopes').innerText()).toBe('payments:read');
    expect(await field('trace', 'policy-set version').innerText()).toBe('1');
    const determining = await field('trace', 'determining policies').innerText();
    expect(determining).toBe((trace.determining_policies as string[]).join(', ') || '—');
    expect(await field('trace', 'diagnostics').count()).toBe(1);
    expect(await field('trace', 'mandate').innerText()).toContain((trace.mandate as { jti: string }).jti);
  });

  it('Explain shows the policy input, the digest check and the re-evaluation', async () => {
    await page.click('#explain-btn');
    await page.waitForSelector('#explain:not(.hidden)');
    expect(await field('explain', 'final decision').innerText()).toBe('allow');
    expect(await field('explain', 'input digest').innerText()).toBe('matches');
    expect(await field('explain', 'input digest').locator('.ok').count()).toBe(1);
    expect(await field('explain', 're-evaluation').innerText()).toBe('allow');
    expect(await field('explain', 're-evaluation vs record').innerText()).toBe('matches');
    expect(await field('explain', 'policy-set version').innerText()).toBe('1');
    const input = JSON.parse(await page.innerText('#policy-input')) as Record<string, unknown>;
    expect(input).toMatchObject({ request_id: s.allowed, requested_scopes: ['payments:read'], application: { id: s.app } });
    // Claims are never recorded, so the page cannot show them.
    expect(JSON.stringify(input)).not.toContain('bob@example.test');
  });

  it('traces the denied request with its diagnostics', async () => {
    await page.fill('#request-id', s.denied);
    await page.press('#request-id', 'Enter');
    await expect.poll(() => field('trace', 'request_id').innerText()).toBe(s.denied);
    // A new trace hides the previous explanation.
    expect(await page.isVisible('#explain')).toBe(false);
    expect(await field('trace', 'decision').innerText()).toBe('deny');
    expect(await field('trace', 'diagnostics').innerText()).toContain('scope_not_granted');
    expect(await field('trace', 'diagnostics').innerText()).toContain('payments:write');
    expect(await field('trace', 'granted scopes').innerText()).toBe('—');

    await page.click('#explain-btn');
    await page.waitForSelector('#explain:not(.hidden)');
    expect(await field('explain', 'final decision').innerText()).toBe('deny');
    expect(await field('explain', 'input digest').innerText()).toBe('matches');
    expect(await field('explain', 're-evaluation').innerText()).toBe('deny');
    expect(await field('explain', 'diagnostics').innerText()).toContain('scope_not_granted');
  });

  it('an unknown request ID shows the API error', async () => {
    await page.fill('#request-id', 'no-such-request');
    await page.click('#lookup button[type=submit]');
    await expect.poll(() => page.textContent('#lookup-error')).toContain('request_not_found');
    expect(await page.isVisible('#lookup-error')).toBe(true);
    expect(await page.isVisible('#trace')).toBe(false);
  });

  it('the audit tail lists both decisions; decision=deny shows only the denied one; a row click traces it', async () => {
    await page.click('#tail button[type=submit]');
    const rows = page.locator('#tail-table tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.requestId));
    expect(ids).toEqual([s.denied, s.allowed]); // newest first

    await page.selectOption('#f-decision', 'deny');
    await page.click('#tail button[type=submit]');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-request-id')).toBe(s.denied);
    expect(await rows.first().locator('.badge').innerText()).toBe('deny');

    await rows.first().click();
    await expect.poll(() => field('trace', 'request_id').innerText()).toBe(s.denied);
    expect(await page.inputValue('#request-id')).toBe(s.denied);
  });

  it('renders without overflow or script errors (screenshot for a look)', async () => {
    await page.selectOption('#f-decision', '');
    await page.click('#tail button[type=submit]');
    await expect.poll(() => page.locator('#tail-table tbody tr').count()).toBe(2);
    await page.click('#explain-btn');
    await page.waitForSelector('#explain:not(.hidden)');
    const file = join(shots, 'console.png');
    await page.screenshot({ path: file, fullPage: true });
    if (process.env.WRIT_KEEP_SCREENSHOTS) console.log(`console screenshot: ${file}`);
    // Nothing wider than the viewport: no horizontal scrolling.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // A narrow window still works.
    await page.setViewportSize({ width: 420, height: 900 });
    const narrow = await page.evaluate(async () => {
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return document.documentElement.scrollWidth - document.documentElement.clientWidth;
    });
    await page.screenshot({ path: join(shots, 'console-narrow.png'), fullPage: true });
    expect(narrow).toBeLessThanOrEqual(0);
    // The browser logs every 4xx fetch (the unknown request ID above) as "Failed to load resource": expected.
    const problems = ((globalThis as { __consoleProblems?: string[] }).__consoleProblems ?? []).filter((p) => !p.includes('Failed to load resource'));
    expect(problems).toEqual([]);
  });
});
