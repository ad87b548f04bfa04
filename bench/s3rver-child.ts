/**
 * Child process: an S3-compatible server (s3rver) on a free loopback port, with one bucket,
 * storing under S3RVER_DIR. Sends {port} once it listens; SIGTERM closes it.
 */
import S3rver from 's3rver';

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.env.S3RVER_DIR ?? '',
  configureBuckets: [{ name: process.env.S3RVER_BUCKET ?? 'tessera-bench' }],
});
const { port } = await server.run();
process.send?.({ port });
process.on('SIGTERM', () => {
  server.httpServer?.closeAllConnections();
  void server.close().finally(() => process.exit(0));
});
