import { CliError, WritClient, clientOptionsFromEnv } from './http-client.js';

/** What every command gets: the client, output mode and the zone resolution rule. */
export interface CliContext {
  client: WritClient;
  json: boolean;
  /** --zone, else WRIT_ZONE, else the zone of a zone admin key (asked via whoami). */
  zone(explicit?: string): Promise<string>;
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
  };
}
