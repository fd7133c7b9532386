import { describe, expect, it } from 'vitest';
import { startWritProcess } from '../support/writ-process.js';

/** The helper that runs the real server as a child process (used by the CLI, console and crash tests). */
describe('startWritProcess', () => {
  it('starts a ready server, survives SIGKILL + restart on the same data dir, and stops gracefully', async () => {
    const first = await startWritProcess();
    try {
      const auth = { authorization: `Bearer ${first.adminToken}` };
      const res = await fetch(`${first.url}/v1/zones`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'durable' }) });
      expect(res.status).toBe(201);
      const { zone_id } = (await res.json()) as { zone_id: string };

      await first.kill('SIGKILL');
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

      const second = await startWritProcess({ dataDir: first.dataDir, port: first.port, env: { WRIT_ADMIN_TOKEN: first.adminToken } });
      try {
        expect(second.url).toBe(first.url);
        expect(second.pid).not.toBe(first.pid);
        const list = (await (await fetch(`${second.url}/v1/zones`, { headers: auth })).json()) as { items: Array<{ zone_id: string }> };
        expect(list.items.map((z) => z.zone_id)).toContain(zone_id);
      } finally {
        await second.stop();
      }
      // SIGTERM: the server closes cleanly and exits 0.
      expect(await second.exited).toEqual({ code: 0, signal: null });
      await second.stop(); // idempotent
    } finally {
      await first.stop();
      await first.cleanup();
    }
  });

  it('fails with the server output when the server cannot start', async () => {
    await expect(startWritProcess({ env: { WRIT_MANDATE_TTL: '5' } })).rejects.toThrow(/exited before it was ready[\s\S]*WRIT_MANDATE_TTL/);
  });
});
