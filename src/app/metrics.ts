import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome label of one token exchange. */
export type ExchangeOutcome = 'allow' | 'deny' | 'error';

/** Seconds buckets for the hot paths: a token exchange and a ledger append are expected in the low milliseconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface MetricsOptions {
  /** Node process metrics (heap, event loop lag, ...). On by default; tests that create many instances may turn them off. */
  processMetrics?: boolean;
}

/**
 * writ's Prometheus metrics, in a registry of their own (not prom-client's global one) so that several writ
 * instances in one process (tests, the CLI) never share or double-register series. Labels are closed sets or
 * route templates: nothing caller-controlled (tokens, ids, raw URLs) ever becomes a label value, which would
 * both leak data and explode cardinality.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly exchanges: Counter<'decision'>;
  private readonly exchangeDuration: Histogram<'decision'>;
  private readonly appendDuration: Histogram;
  private readonly projectionLag: Gauge<'projection'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.exchanges = new Counter({
      name: 'writ_exchanges_total',
      help: 'Token exchanges by outcome (allow, deny, error).',
      labelNames: ['decision'],
      registers,
    });
    for (const decision of ['allow', 'deny', 'error'] as const) this.exchanges.inc({ decision }, 0);
    this.exchangeDuration = new Histogram({
      name: 'writ_exchange_duration_seconds',
      help: 'Token exchange latency, from request parsed to response ready, by outcome.',
      labelNames: ['decision'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.appendDuration = new Histogram({
      name: 'writ_ledger_append_duration_seconds',
      help: 'Latency of ledger appends made by writ (decision records and admin writes).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.projectionLag = new Gauge({
      name: 'writ_projection_lag_events',
      help: 'Events between the ledger head and each projection\'s position, sampled at scrape time.',
      labelNames: ['projection'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'writ_http_requests_total',
      help: 'HTTP requests by method, route template and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'writ_http_request_duration_seconds',
      help: 'HTTP request latency by method and route template.',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** One finished token exchange. */
  observeExchange(decision: ExchangeOutcome, seconds: number): void {
    this.exchanges.inc({ decision });
    this.exchangeDuration.observe({ decision }, seconds);
  }

  /** One ledger append. */
  observeAppend(seconds: number): void {
    this.appendDuration.observe(seconds);
  }

  /** One HTTP response. `route` must be a route template (or a fixed placeholder), never a raw URL. */
  observeHttpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, seconds);
  }

  /** Projection lag in events, per projection; called at scrape time from the projection runner. */
  setProjectionLag(lags: Record<string, number | bigint>): void {
    this.projectionLag.reset();
    for (const [projection, lag] of Object.entries(lags)) this.projectionLag.set({ projection }, Number(lag));
  }

  /** Content type of {@link render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every writ metric. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
