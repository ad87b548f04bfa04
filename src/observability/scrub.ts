/**
 * What an error report must never carry (issue 7, seed 004's Sentry): tokens, tickets,
 * passwords, secrets, e-mail addresses, cookies and authorization headers. Applied to the
 * whole event just before it leaves, wherever the value sits (message, stack, request, extra).
 */

const FILTERED = '[Filtered]';

// Keys whose value is a secret or personal data, whatever it looks like.
const SENSITIVE_KEY = /pass(word|wd)?|secret|token|ticket|authorization|cookie|api[-_]?key|credential|private[-_]?key|^e-?mail$|^dsn$/i;

const TEXT_RULES: [RegExp, string][] = [
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, '[email]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, '$1 [Filtered]'],
  [/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[jwt]'],
  [/wst_[A-Za-z0-9_-]{10,}/g, '[ticket]'],
  [/([?&;](?:[a-z_]*token|ticket|password|secret|code|key|email)=)[^&;\s#"']*/gi, `$1${FILTERED}`],
  [/(\b(?:[a-z_]*token|ticket|password|passwd|secret)["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&)#[][^\s,;&)#]*)/gi, `$1${FILTERED}`],
  // Opaque tokens (refresh tokens, e-mail links, client secrets): 256-bit base64url runs.
  [/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])/g, '[token]'],
];

export function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_RULES) out = out.replace(pattern, replacement);
  return out;
}

/** A deep copy of `value` with every sensitive key's value replaced and every string scrubbed. */
export function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object' || depth > 20) return value;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SENSITIVE_KEY.test(key) && v !== null && v !== undefined && v !== '' ? FILTERED : scrubValue(v, depth + 1);
  }
  return out;
}

interface ScrubbableEvent {
  request?: { cookies?: unknown; data?: unknown };
  user?: { id?: string | number };
  breadcrumbs?: unknown;
}

/** Sentry's `beforeSend`: request bodies, cookies and user details beyond the id are dropped, the rest scrubbed. */
export function scrubEvent<E extends ScrubbableEvent>(event: E): E {
  const copy: ScrubbableEvent = { ...event };
  if (copy.request) {
    const { cookies: _cookies, data: _data, ...request } = copy.request;
    copy.request = request;
  }
  if (copy.user) copy.user = copy.user.id === undefined ? {} : { id: copy.user.id };
  delete copy.breadcrumbs;
  return scrubValue(copy) as E;
}
