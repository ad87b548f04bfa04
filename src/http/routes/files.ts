import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { attachmentContentDisposition } from '../../adapters/object-storage/content-disposition.js';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import type { FileView } from '../../modules/files/files.service.js';
import { etagMatches, ifRangeAllows, parseRange } from '../conditional-get.js';
import { requestContext } from '../request-context.js';
import { DuplicatesQuery, DuplicatesResponse, FileIdParams, FileSchema, FilesListQuery, FilesPageResponse, RenameFileBody, UsageResponse } from '../schemas/files.js';
import { noStoreUnlessSet } from '../plugins/security.js';

const tags = ['files'];
const security = [{ bearerAuth: [] }];
/** how long a refused upload's remaining body is read (and dropped) so the client sees the answer */
const LINGER_MS = 5_000;
const MAX_FIELD_NAME_LENGTH = 100;
/** how much of an upload each stream stage may hold before it asks the one before it to wait */
const STREAM_HWM = 256 * 1024;

/**
 * /files (seed 002, Declutter Cloud): upload, list, read, rename, delete, download, usage and
 * the duplicates report. Only the signed-in user's own files, ever: any other id is a 404.
 * The multipart parser and its limits are registered in the upload route's own scope: the
 * plugin adds two hooks to every route of its scope, which the other routes don't need.
 */
export async function filesRoutes(app: FastifyInstance, container: Container): Promise<void> {
  const files = container.files.service;
  const apiPrefix = container.config.server.apiPrefix;
  // JSON bodies (and the upload form) only: a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');

  // One file per request, and little else: a byte past MAX_FILE_SIZE is how "too large" shows
  // (the inspector refuses it). headerSize (busboy's, untyped here) bounds a part's headers.
  const limits = { fileSize: files.maxFileBytes + 1, files: 1, fields: 10, fieldSize: 1024, parts: 12, headerPairs: 20, headerSize: 16 * 1024 };

  const signedIn = { onRequest: [app.authenticate] };
  const userOf = (request: FastifyRequest) => (request.auth?.kind === 'user' ? request.auth.userId : '');

  app.addHook('onSend', noStoreUnlessSet);

  await app.register(async (upload) => {
    // A socket read is up to 64 KiB; with the 16 KiB defaults, every read would make the parser
    // (highWaterMark) and the file stream (fileHwm) tell the request to wait, then resume it a
    // tick later. With room for a few reads, the body flows through while the store keeps up.
    await upload.register(multipart, { limits, throwFileSizeLimit: false, highWaterMark: STREAM_HWM, fileHwm: STREAM_HWM });
    upload.post(
      '/files',
      {
        schema: {
          tags,
          security,
          summary: 'Upload a file',
          description:
            'multipart/form-data with the file in the field "file". Streamed to storage; at most MAX_FILE_SIZE MB; the type is decided from the content and must match ALLOWED_FILE_TYPES; counts against USER_STORAGE_QUOTA_MB.',
          consumes: ['multipart/form-data'],
          response: { 201: FileSchema },
        },
        // As long as the bytes keep coming (UPLOAD_IDLE_TIMEOUT_MS, UPLOAD_TIMEOUT_MS).
        config: { upload: true },
        ...signedIn,
      },
      async (request, reply) => {
        try {
          const { part, rest } = await openUploadPart(request);
          const declared = Number(request.headers['content-length']);
          const file = await files.upload(userOf(request), {
            stream: part.file,
            filename: part.filename,
            declaredBytes: Number.isSafeInteger(declared) && declared > 0 ? declared : null,
            clientGone: () => !request.raw.socket || request.raw.socket.destroyed,
            beforeCommit: rest,
          });
          return reply.code(201).header('location', `${apiPrefix}/files/${file.id}`).send(file);
        } catch (err) {
          lingerAfterRefusal(request);
          throw err;
        }
      },
    );
  });

  app.get<{ Querystring: Static<typeof FilesListQuery> }>(
    '/files',
    { schema: { tags, security, summary: 'List your files', querystring: FilesListQuery, response: { 200: FilesPageResponse } }, ...signedIn },
    async (request) => {
      const { sort, order, cursor, limit } = request.query;
      return files.list(userOf(request), { sort: sort ?? 'created_at', order, cursor, limit: limit ?? 50 });
    },
  );

  // Static paths: matched before /files/:id.
  app.get('/files/usage', { schema: { tags, security, summary: 'Your storage use and quota', response: { 200: UsageResponse } }, ...signedIn }, async (request) =>
    files.usage(userOf(request)),
  );

  app.get<{ Querystring: Static<typeof DuplicatesQuery> }>(
    '/files/duplicates',
    {
      schema: {
        tags,
        security,
        summary: 'Files with identical content (the declutter report)',
        querystring: DuplicatesQuery,
        response: { 200: DuplicatesResponse },
      },
      ...signedIn,
    },
    async (request) => files.duplicates(userOf(request), { cursor: request.query.cursor, limit: request.query.limit ?? 20 }),
  );

  app.get<{ Params: Static<typeof FileIdParams> }>(
    '/files/:id',
    { schema: { tags, security, summary: 'One file', params: FileIdParams, response: { 200: FileSchema } }, ...signedIn },
    async (request) => files.get(userOf(request), request.params.id),
  );

  app.patch<{ Params: Static<typeof FileIdParams>; Body: Static<typeof RenameFileBody> }>(
    '/files/:id',
    { schema: { tags, security, summary: 'Rename a file', params: FileIdParams, body: RenameFileBody, response: { 200: FileSchema } }, ...signedIn },
    async (request) => files.rename(userOf(request), request.params.id, request.body.name),
  );

  app.delete<{ Params: Static<typeof FileIdParams> }>(
    '/files/:id',
    {
      schema: { tags, security, summary: 'Delete a file', params: FileIdParams, response: { 204: { type: 'null' } } },
      // seed 002: RATE_LIMIT_FILE_DELETE, 20/minute in production, 30 in staging
      config: { rateLimit: ['fileDelete'] },
      ...signedIn,
    },
    async (request, reply) => {
      await files.delete(userOf(request), request.params.id, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: Static<typeof FileIdParams> }>(
    '/files/:id/content',
    {
      schema: {
        tags,
        security,
        summary: 'Download a file',
        description:
          'The bytes, as an attachment. ETag (the SHA-256) with If-None-Match → 304; a single Range → 206 (416 past the end). On S3, a 302 to a presigned URL that lives 5 minutes.',
        params: FileIdParams,
      },
      compress: false, // byte ranges and Content-Length are of the stored bytes
      ...signedIn,
    },
    async (request, reply) => sendContent(request, reply, await files.get(userOf(request), request.params.id)),
  );

  async function sendContent(request: FastifyRequest, reply: FastifyReply, file: FileView) {
    const etag = `"${file.sha256}"`;
    reply.header('etag', etag).header('cache-control', 'private, no-cache').header('x-content-type-options', 'nosniff');
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();

    const signed = await files.signedDownloadUrl(userOf(request), file);
    if (signed) return reply.code(302).header('location', signed).header('cache-control', 'no-store').send();

    const ifRange = [request.headers['if-range']].flat()[0];
    const decision = ifRangeAllows(ifRange, etag) ? parseRange(request.headers.range, file.size) : ({ kind: 'whole' } as const);
    if (decision.kind === 'unsatisfiable') {
      throw new AppError('range_not_satisfiable', { detail: `The file has ${file.size} bytes`, headers: { 'content-range': `bytes */${file.size}` } });
    }
    const object = await files.openContent(userOf(request), file, decision.kind === 'range' ? decision.range : null);
    reply
      .header('content-type', file.content_type.startsWith('text/') ? `${file.content_type}; charset=utf-8` : file.content_type)
      .header('content-length', object.contentLength)
      .header('accept-ranges', 'bytes')
      .header('last-modified', new Date(file.created_at).toUTCString())
      .header('content-disposition', attachmentContentDisposition(file.name))
      // opened on its own, nothing in it may run
      .header('content-security-policy', "default-src 'none'; sandbox");
    if (object.range) reply.code(206).header('content-range', `bytes ${object.range.start}-${object.range.end}/${object.size}`);
    return reply.send(object.stream);
  }
}

/**
 * The multipart part holding the file: the first file part, which must be the field "file";
 * and `rest`, which reads what follows it once the file is stored: another file is a 422
 * (exactly one file per request), text fields are ignored.
 */
async function openUploadPart(request: FastifyRequest): Promise<{ part: MultipartFile; rest: () => Promise<void> }> {
  if (!request.isMultipart()) {
    throw new AppError('unsupported_media_type', { detail: 'Send the file as multipart/form-data, in the field "file"' });
  }
  const parts = request.files();
  let part: MultipartFile | undefined;
  try {
    part = (await parts.next()).value as MultipartFile | undefined;
  } catch (err) {
    throw multipartProblem(err);
  }
  const namesProblem = fieldNameProblem(part);
  if (namesProblem) {
    part?.file.resume();
    throw namesProblem;
  }
  if (!part) throw fileFieldProblem('is required (multipart/form-data with one file)');
  if (part.fieldname !== 'file') {
    part.file.resume();
    throw fileFieldProblem(`is required: the file was sent in the field "${part.fieldname.slice(0, 100)}"`);
  }
  const rest = async () => {
    let next: IteratorResult<MultipartFile>;
    try {
      next = await parts.next();
    } catch (err) {
      throw multipartProblem(err);
    }
    if (!next.done) {
      next.value.file.resume();
      throw fileFieldProblem('only one file may be sent');
    }
    // The fields after the file, too (`fields` is the whole form's, filled as it is read).
    const lateProblem = fieldNameProblem(part);
    if (lateProblem) throw lateProblem;
  };
  return { part, rest };
}

/** Busboy cuts an oversized part header (a 1 MB field name) short instead of refusing it. */
function fieldNameProblem(part: MultipartFile | undefined): AppError | null {
  const names = [...Object.keys(part?.fields ?? {}), part?.fieldname ?? ''];
  if (!names.some((name) => name.length > MAX_FIELD_NAME_LENGTH)) return null;
  return new AppError('validation_failed', {
    detail: `Form field names are at most ${MAX_FIELD_NAME_LENGTH} characters`,
    errors: [{ field: '(body)', message: 'has a field name that is too long' }],
  });
}

function fileFieldProblem(message: string): AppError {
  return new AppError('validation_failed', { errors: [{ field: 'file', message }] });
}

function multipartProblem(err: unknown): AppError {
  if (err instanceof AppError) return err;
  switch ((err as { code?: unknown } | null)?.code) {
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PROTO_VIOLATION':
      return new AppError('validation_failed', { detail: 'The form has too many or unexpected parts', errors: [{ field: '(body)', message: 'has too many or unexpected parts' }] });
    case 'FST_FILES_LIMIT':
      return fileFieldProblem('only one file may be sent');
  }
  return new AppError('bad_request', { detail: 'The multipart/form-data body is malformed or incomplete', cause: err });
}

/**
 * A refusal (too large, wrong type, over quota…) is answered before the client has finished
 * sending. Closing at once would make many clients see a reset instead of the answer; so the
 * rest of the body is read and dropped for a few seconds, then the connection is cut.
 */
function lingerAfterRefusal(request: FastifyRequest): void {
  const raw = request.raw;
  if (raw.complete || raw.destroyed) return;
  raw.unpipe();
  raw.resume();
  const cut = setTimeout(() => {
    const socket = raw.socket as { destroy?: () => void } | null;
    if (typeof socket?.destroy === 'function') socket.destroy(); // (injected requests have no real socket)
  }, LINGER_MS);
  cut.unref();
  raw.once('end', () => clearTimeout(cut));
  raw.once('close', () => clearTimeout(cut));
}
