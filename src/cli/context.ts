import { readFile } from 'node:fs/promises';
import { CliError, WritClient, clientOptionsFromEnv } from './http-client.js';

/** What every command gets: the client, output mode and the zone resolution rule. */
export interface CliContext {
  client: WritClient;
  json: boolean;
  /** --zone, else WRIT_ZONE, else the zone of a zone admin key (asked via whoami). */
  zone(explicit?: string): Promise<string>;
  /** GET a list endpoint and follow `next_cursor` to the end. */
  listAll<T = Record<string, unknown>>(path: string, query?: URLSearchParams): Promise<T[]>;
}

export function createContext(json: boolean): CliContext {
  const client = new WritClient(clientOptionsFromEnv());
  let cached: string | undefined;
  return {
    client,
    json,
    async zone(explicit) {
      if (explicit) return explicit;
      if (process.env.WRIT_ZONE) return process.env.WRIT_ZONE;
      if (cached) return cached;
      const me = await client.request<{ kind: string; zone_id?: string }>('GET', '/v1/auth/whoami');
      if (!me.zone_id) throw new CliError('no zone given: pass --zone <zone_id> or set WRIT_ZONE', 'zone_required', 2);
      cached = me.zone_id;
      return cached;
    },
    async listAll<T>(path: string, query = new URLSearchParams()) {
      const items: T[] = [];
      const seen = new Set<string>();
      const q = new URLSearchParams(query);
      q.set('limit', '1000');
      for (;;) {
        const page = await client.request<{ items: T[]; next_cursor?: string | null }>('GET', `${path}?${q}`);
        items.push(...(page.items ?? []));
        const next = page.next_cursor;
        // A cursor seen before would loop forever: stop instead.
        if (!next || seen.has(next)) return items;
        seen.add(next);
        q.set('cursor', next);
      }
    },
  };
}

/** Read and parse a JSON input file; a missing or malformed file is a usage error (exit 2). */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'invalid_request', 2);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(`${what} ${path} is not valid JSON: ${(err as Error).message}`, 'invalid_request', 2);
  }
}
