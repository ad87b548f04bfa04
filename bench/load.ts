import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export interface LoadRequest {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/** Loads one URL with autocannon from this (separate) process. */
export async function load(baseUrl: string, req: LoadRequest, seconds: number, connections = 10): Promise<LoadResult> {
  const result = await autocannon({
    url: baseUrl + req.path,
    method: req.method ?? 'GET',
    headers: req.headers ?? {},
    ...(req.body !== undefined ? { body: req.body } : {}),
    connections,
    pipelining: 1,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/**
 * The same load on ours and on the yardstick, interleaved (A B A B) so drift in the shared
 * machine hits both; the better run of each is kept.
 */
export async function compare(ours: string, bare: string, req: LoadRequest, bareReq: LoadRequest, seconds: number) {
  await load(ours, req, 1);
  await load(bare, bareReq, 1);
  const a1 = await load(ours, req, seconds);
  const b1 = await load(bare, bareReq, seconds);
  const a2 = await load(ours, req, seconds);
  const b2 = await load(bare, bareReq, seconds);
  const a = a1.rps >= a2.rps ? a1 : a2;
  const b = b1.rps >= b2.rps ? b1 : b2;
  return { ours: a, bare: b, ratio: a.rps / b.rps };
}
