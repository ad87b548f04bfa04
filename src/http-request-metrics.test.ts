import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HttpRequestMetrics } from './http-request-metrics.js';

describe('HttpRequestMetrics', () => {
  it('writes the same text a prom-client Counter and Histogram would', async () => {
    const ours = new client.Registry();
    const theirs = new client.Registry();
    const http = new HttpRequestMetrics(ours);
    const counter = new client.Counter({ name: 'http_requests_total', help: 'HTTP requests by method, route template and status', labelNames: ['method', 'route', 'status'], registers: [theirs] });
    const histogram = new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10],
      registers: [theirs],
    });
    const observations: [string, string, number, number][] = [
      ['GET', '/health', 200, 0.005], // on a bucket's bound: counted in it (le)
      ['GET', '/health', 200, 0.0071],
      ['GET', '/health', 200, 20], // beyond the last bound: +Inf only
      ['POST', '/api/v1/files', 413, 0.3],
    ];
    const series = new Map<string, ReturnType<typeof http.series>>();
    for (const [method, route, status, seconds] of observations) {
      const key = `${method} ${route} ${status}`;
      if (!series.has(key)) series.set(key, http.series(method, route, status));
      http.observe(series.get(key)!, seconds);
      const labels = { method, route, status: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    await ours.resetMetrics();
    expect(await ours.metrics()).toContain('http_requests_total{method="GET",route="/health",status="200"} 0');
  });
});
