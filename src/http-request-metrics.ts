import type { Registry } from 'prom-client';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10] as const;

type Labels = { method: string; route: string; status: string };

/** One (method, route template, status) series: what a request adds to, with no lookup. */
export interface RequestSeries {
  readonly labels: Labels;
  count: number;
  sum: number;
  /** per bucket (not cumulative); the last slot is +Inf */
  readonly buckets: number[];
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, kept as plain numbers per series
 * and turned into Prometheus text only when scraped. The same metrics as prom-client's Counter
 * and Histogram (names, labels, buckets), registered in the same registry through its
 * collector interface (`registerMetric`: `get()` returning the values), but a request costs
 * two additions and a bucket search, where prom-client re-validates and hashes the labels on
 * every call (two calls per request: a measurable share of a small request's time).
 */
export class HttpRequestMetrics {
  private readonly all: RequestSeries[] = [];

  constructor(registry: Registry) {
    const counter = {
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({ ...this.describe(counter), values: this.all.map((s) => ({ labels: s.labels, value: s.count })) }),
      reset: () => this.reset(),
    };
    const histogram = {
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route template and status',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({ ...this.describe(histogram), values: this.histogramValues(histogram.name) }),
      reset: () => this.reset(),
    };
    registry.registerMetric(counter as never);
    registry.registerMetric(histogram as never);
  }

  /** A new series; the caller keeps it (one per route and status) and passes it to `observe`. */
  series(method: string, route: string, status: number): RequestSeries {
    const series: RequestSeries = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: new Array<number>(BUCKETS.length + 1).fill(0) };
    this.all.push(series);
    return series;
  }

  observe(series: RequestSeries, seconds: number): void {
    series.count++;
    series.sum += seconds;
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    series.buckets[i]!++;
  }

  private describe(metric: { name: string; help: string; type: string; aggregator: string }) {
    return { name: metric.name, help: metric.help, type: metric.type, aggregator: metric.aggregator };
  }

  private histogramValues(name: string) {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.all) {
      let cumulative = 0;
      BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
    }
    return values;
  }

  private reset(): void {
    for (const s of this.all) {
      s.count = 0;
      s.sum = 0;
      s.buckets.fill(0);
    }
  }
}
