// How ioredis fails a command when Redis can't be reached: offline (enableOfflineQueue is off),
// timed out, connection lost, retries used up; and Redis itself answering "not now".
const UNAVAILABLE_MESSAGES =
  /^(Stream isn't writeable|Connection is closed|Command timed out|Reached the max retries per request limit|Socket timeout|Node is disconnected|Cluster is disconnected|Cluster isn't ready|None of startup nodes is available|connect ETIMEDOUT|(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b)/;

/** True when an error means "the key-value store cannot be reached", as opposed to a bad command: a 503. */
export function isKeyValueUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; message?: unknown };
  if (e.name === 'MaxRetriesPerRequestError') return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}
