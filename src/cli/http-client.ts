/**
 * The CLI's HTTP client: talks to a writ server at WRIT_URL with WRIT_ADMIN_TOKEN. Errors come back as
 * `CliError` carrying the server's stable code and request ID so scripts can branch on them.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode = 1,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  url: string;
  token?: string;
}

export function clientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientOptions {
  return { url: (env.WRIT_URL ?? `http://127.0.0.1:${env.WRIT_PORT ?? '8080'}`).replace(/\/$/, ''), token: env.WRIT_ADMIN_TOKEN };
}

export class WritClient {
  constructor(private readonly options: ClientOptions) {}

  get url(): string {
    return this.options.url;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, init: { headers?: Record<string, string>; raw?: boolean; auth?: boolean } = {}): Promise<T> {
    const res = await this.fetch(method, path, body, init);
    if (init.raw) return res as unknown as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The raw response (streams: export, CSV). Throws CliError on a non-2xx status. */
  async fetch(method: string, path: string, body?: unknown, init: { headers?: Record<string, string>; auth?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.auth !== false) {
      if (!this.options.token) throw new CliError('WRIT_ADMIN_TOKEN is not set (the root key is in <data dir>/admin-token)', 'authentication_required', 2);
      headers.authorization = `Bearer ${this.options.token}`;
    }
    let payload: BodyInit | undefined;
    if (body instanceof Uint8Array) {
      payload = Buffer.from(body) as unknown as BodyInit;
      headers['content-type'] ??= 'application/gzip';
    } else if (typeof body === 'string') {
      payload = body;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(`${this.options.url}${path}`, { method, headers, body: payload });
    } catch (err) {
      throw new CliError(`cannot reach writ at ${this.options.url} (${(err as Error).cause ? String((err as { cause: unknown }).cause) : (err as Error).message}); is it running? set WRIT_URL`, 'unreachable', 3);
    }
    if (!res.ok) {
      let parsed: { error?: string; error_description?: string; request_id?: string; details?: unknown } = {};
      try {
        parsed = (await res.json()) as typeof parsed;
      } catch {
        /* non-JSON error body */
      }
      throw new CliError(
        `${parsed.error ?? `http_${res.status}`}: ${parsed.error_description ?? res.statusText}`,
        parsed.error ?? `http_${res.status}`,
        1,
        parsed.request_id ?? res.headers.get('x-request-id') ?? undefined,
        parsed.details,
      );
    }
    return res;
  }
}
