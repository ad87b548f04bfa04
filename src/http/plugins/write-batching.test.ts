import { connect } from 'node:net';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerWriteBatching } from './write-batching.js';

/**
 * Requests pipelined in one TCP write are read in one turn of the event loop: the order in
 * which their handlers run and their answers go out shows what is held and what is not.
 */
async function serve(batching: boolean): Promise<{ app: FastifyInstance; events: string[]; port: number }> {
  const events: string[] = [];
  const app = Fastify({ logger: false });
  if (batching) registerWriteBatching(app);
  // After the batching hook: runs when an answer is released to be written.
  app.addHook('onSend', (request, _reply, payload, done) => {
    events.push(`write ${request.url}`);
    done(null, payload);
  });
  app.get('/json/:n', (request) => {
    events.push(`handle ${request.url}`);
    return { n: (request.params as { n: string }).n };
  });
  app.get('/stream', (request, reply) => {
    events.push(`handle ${request.url}`);
    reply.type('text/plain').send(Readable.from(['streamed']));
  });
  app.get('/reply/:n', (request, reply) => {
    events.push(`handle ${request.url}`);
    reply.send(`reply ${(request.params as { n: string }).n}`);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { app, events, port: typeof address === 'object' && address ? address.port : 0 };
}

/** Sends the paths pipelined on one connection, in one write; resolves with everything read up to `lastBody`. */
function pipelined(port: number, paths: string[], lastBody: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.endsWith(lastBody)) socket.end();
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`timed out; read so far: ${text}`)));
    socket.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
  });
}

describe('write batching', () => {
  let app: FastifyInstance | null = null;
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  it('writes the answers of one turn after all its requests were handled, in order', async () => {
    const s = await serve(true);
    app = s.app;
    const text = await pipelined(s.port, ['/json/1', '/reply/2', '/json/3'], '{"n":"3"}');
    expect(s.events).toEqual(['handle /json/1', 'handle /reply/2', 'handle /json/3', 'write /json/1', 'write /reply/2', 'write /json/3']);
    // Every answer whole, in request order.
    expect(text.indexOf('{"n":"1"}')).toBeGreaterThan(0);
    expect(text.indexOf('reply 2')).toBeGreaterThan(text.indexOf('{"n":"1"}'));
    expect(text.indexOf('{"n":"3"}')).toBeGreaterThan(text.indexOf('reply 2'));
  });

  it('does not hold a streamed body', async () => {
    const s = await serve(true);
    app = s.app;
    const text = await pipelined(s.port, ['/stream', '/json/2'], '{"n":"2"}');
    expect(s.events.slice(0, 2)).toEqual(['handle /stream', 'write /stream']);
    expect(text).toContain('streamed');
    expect(text).toContain('{"n":"2"}');
  });

  it('an answer Node refuses to write is a 500; the answers batched with it still go', async () => {
    // Batching as the last onSend hook: the write happens inside its release.
    app = Fastify({ logger: false });
    registerWriteBatching(app);
    app.get('/bad-header', (_request, reply) => {
      reply.header('x-broken', 'line\nbreak').send({ broken: true });
    });
    app.get('/json/:n', (request) => ({ n: (request.params as { n: string }).n }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const text = await pipelined(port, ['/json/1', '/bad-header', '/json/3'], '{"n":"3"}');
    expect(text).toContain('{"n":"1"}');
    expect(text).toMatch(/HTTP\/1\.1 500/);
    expect(text).not.toContain('line');
    expect(text).toContain('{"n":"3"}');
  });

  it('without it, each answer goes as soon as it is ready (the order the test above tells apart)', async () => {
    const s = await serve(false);
    app = s.app;
    await pipelined(s.port, ['/json/1', '/json/2'], '{"n":"2"}');
    expect(s.events).toEqual(['handle /json/1', 'write /json/1', 'handle /json/2', 'write /json/2']);
  });
});
