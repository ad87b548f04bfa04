/**
 * The one way the app talks to the API. The access token lives in this module's memory only;
 * the refresh token is the HttpOnly `tessera_refresh` cookie, which the browser sends to
 * /api/v1/auth/* by itself. Every call carries `X-Tessera-Client: web` (the server's switch to
 * cookie mode and its CSRF check). A 401 on an authenticated call refreshes once (one refresh
 * in flight for everyone) and retries; problem+json answers become `ApiError`s with field errors.
 */

// The server puts its API_V1_PREFIX in index.html; /api/v1 is the default.
export const API = document.querySelector<HTMLMetaElement>('meta[name="tessera-api-prefix"]')?.content || '/api/v1';
const CLIENT_HEADERS = { 'X-Tessera-Client': 'web' } as const;

export interface FieldProblem {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  request_id?: string;
  errors?: FieldProblem[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.detail ?? problem.title ?? `Request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code ?? (status === 0 ? 'network_error' : 'http_error');
    this.problem = problem;
  }

  /** The field errors, by field name (`privacy.show_email` for nested members). */
  get fields(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) if (!(e.field in out)) out[e.field] = e.message;
    return out;
  }
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

let accessToken: string | null = null;
let refreshing: Promise<TokenResponse | null> | null = null;
let onSessionLost: () => void = () => undefined;

export function setAccessToken(token: string | null): void {
  accessToken = token;
}

export function hasAccessToken(): boolean {
  return accessToken !== null;
}

/** Called when a refresh fails: the session is gone (signed out elsewhere, expired, revoked). */
export function onSessionEnded(handler: () => void): void {
  onSessionLost = handler;
}

/** The session id (`sid`) of the access token in memory: which session this page is. */
export function currentSessionId(): string | null {
  if (!accessToken) return null;
  try {
    const payload = accessToken.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const sid = (JSON.parse(json) as { sid?: unknown }).sid;
    return typeof sid === 'string' ? sid : null;
  } catch {
    return null;
  }
}

async function problemOf(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      return (await res.json()) as Problem;
    } catch {
      // fall through to a generic problem
    }
  }
  return { status: res.status, title: res.statusText || `HTTP ${res.status}` };
}

/**
 * Trades the refresh cookie for a new access token; null when there is no session. Calls made
 * at the same moment share one request, so the cookie is rotated once, not raced.
 */
export function refreshAccessToken(): Promise<TokenResponse | null> {
  refreshing ??= (async () => {
    try {
      const res = await fetch(`${API}/auth/refresh`, { method: 'POST', headers: CLIENT_HEADERS, credentials: 'same-origin' });
      if (!res.ok) {
        accessToken = null;
        return null;
      }
      const body = (await res.json()) as TokenResponse;
      accessToken = body.access_token;
      return body;
    } catch {
      // offline: keep what we have; the caller decides
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export interface RequestOptions {
  method?: string;
  /** a plain object is sent as JSON; FormData as multipart */
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  /** send the bearer token (default true); public calls still send it when there is one */
  auth?: boolean | 'optional';
  signal?: AbortSignal;
}

function urlFor(path: string, query?: RequestOptions['query']): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return `${API}${path}${s ? `?${s}` : ''}`;
}

function headersFor(options: RequestOptions, json: boolean): Record<string, string> {
  const headers: Record<string, string> = { ...CLIENT_HEADERS, Accept: 'application/json, application/problem+json' };
  if (json) headers['Content-Type'] = 'application/json';
  if (options.auth !== false && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  return headers;
}

/** A raw response (downloads); throws ApiError for anything that is not 2xx. */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const json = options.body !== undefined && !(options.body instanceof FormData);
  const send = () =>
    fetch(urlFor(path, options.query), {
      method: options.method ?? 'GET',
      headers: headersFor(options, json),
      body: options.body === undefined ? undefined : json ? JSON.stringify(options.body) : (options.body as FormData),
      credentials: 'same-origin',
      signal: options.signal ?? null,
    });
  let res: Response;
  try {
    res = await send();
    if (res.status === 401 && options.auth !== false && accessToken !== null) {
      const refreshed = await refreshAccessToken();
      if (!refreshed) {
        onSessionLost();
        throw new ApiError(401, await problemOf(res));
      }
      res = await send();
    }
  } catch (err) {
    if (err instanceof ApiError || (err instanceof DOMException && err.name === 'AbortError')) throw err;
    throw new ApiError(0, { title: 'Network error', detail: 'The server could not be reached. Check your connection and try again.' });
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  return res;
}

/** A JSON call: the parsed body, or undefined for 204. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const res = await request(path, options);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/**
 * An upload with progress (fetch cannot report upload progress; XMLHttpRequest can).
 * Retries once after a refresh on 401, like `request`.
 */
export function upload<T>(path: string, form: FormData, options: { method?: string; onProgress?: (fraction: number) => void; signal?: AbortSignal } = {}): Promise<T> {
  const attempt = () =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(options.method ?? 'POST', urlFor(path));
      for (const [k, v] of Object.entries(headersFor({}, false))) xhr.setRequestHeader(k, v);
      xhr.responseType = 'json';
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) options.onProgress?.(e.loaded / e.total);
      };
      xhr.onload = () => resolve({ status: xhr.status, body: xhr.response as unknown });
      // The server cuts off a body it refuses before reading it all (too large, over quota):
      // the browser then sees a dropped connection, not the answer.
      xhr.onerror = () => reject(new ApiError(0, { title: 'Upload failed', detail: 'The upload did not complete: the file may be larger than the server accepts, or the connection dropped.' }));
      xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
      options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(form);
    });
  return (async () => {
    let res = await attempt();
    if (res.status === 401 && accessToken !== null) {
      if (!(await refreshAccessToken())) {
        onSessionLost();
        throw new ApiError(401, (res.body as Problem | null) ?? {});
      }
      options.onProgress?.(0);
      res = await attempt();
    }
    if (res.status < 200 || res.status >= 300) throw new ApiError(res.status, (res.body as Problem | null) ?? { title: `HTTP ${res.status}` });
    options.onProgress?.(1);
    return res.body as T;
  })();
}

/** Sign-in: the refresh token comes back as the HttpOnly cookie, never in this body. */
export async function login<U>(email: string, password: string): Promise<TokenResponse & { user: U; password_expired: boolean }> {
  const body = await api<TokenResponse & { user: U; password_expired: boolean }>('/auth/login', { method: 'POST', body: { email, password }, auth: false });
  accessToken = body.access_token;
  return body;
}

/** Ends this session on the server (and clears the cookie); local state is cleared whatever happens. */
export async function logout(): Promise<void> {
  try {
    // The cookie names the session; the access token is the fallback when the cookie is gone.
    await fetch(`${API}/auth/logout`, { method: 'POST', headers: headersFor({}, false), credentials: 'same-origin' });
  } finally {
    accessToken = null;
  }
}
