import type { FastifyInstance, FastifyReply, onSendHookHandler } from 'fastify';

type Release = (err: Error | null, payload?: unknown) => void;

/**
 * Answers ready in the same turn of the event loop are written together, at its end
 * (`setImmediate`), instead of one by one as each is ready.
 *
 * Under load one turn reads many requests; written one by one, each answer reaches a peer
 * (a proxy or a client on this host) that has gone back to sleep since the last one, and the
 * kernel charges waking it to our `writev`. Written back to back, the first write wakes it and
 * the rest find it awake (uWebSockets corks its sockets per loop turn for the same reason). An
 * answer waits at most for the requests read in the same turn; alone in its turn, it waits for
 * nothing but the hop to the loop's check phase. Streamed bodies (file downloads) are not held.
 *
 * A handler that `return`s the reply while it is held makes Fastify watch the response stream
 * for its end (`Reply.then`): the hot routes send or return a value instead.
 */
export function registerWriteBatching(app: FastifyInstance): void {
  let releases: Release[] = [];
  let payloads: unknown[] = [];
  let replies: FastifyReply[] = [];
  const flush = () => {
    const [r, p, q] = [releases, payloads, replies];
    releases = [];
    payloads = [];
    replies = [];
    for (let i = 0; i < r.length; i++) {
      // An answer that cannot be written (a header Node refuses) fails as it would in any
      // onSend hook, through Fastify's error handling, without stranding the rest of the batch.
      try {
        r[i]!(null, p[i]);
      } catch (err) {
        try {
          r[i]!(err instanceof Error ? err : new Error(String(err)));
        } catch (again) {
          q[i]!.log.error({ err: again }, 'answer could not be written; connection closed');
          q[i]!.raw.destroy();
        }
      }
    }
  };
  const hold: onSendHookHandler = (_request, reply, payload, done) => {
    if (payload !== null && typeof payload !== 'string' && !Buffer.isBuffer(payload)) return done(null, payload);
    if (releases.length === 0) setImmediate(flush);
    releases.push(done as Release);
    payloads.push(payload);
    replies.push(reply);
  };
  app.addHook('onSend', hold);
}
