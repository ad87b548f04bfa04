import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error.js';

export interface SingleFileLimits {
  /** the multipart field the file must come in */
  field: string;
  maxBytes: number;
}

/** Room for the multipart framing and a few small text fields around the file. */
const FRAMING_ALLOWANCE = 64 * 1024;

/** Busboy limits for a form that carries one file and nothing much else. */
export function singleFileMultipartLimits(maxBytes: number) {
  // One byte over the limit is how a file that is too large is recognised (busboy stops there).
  return { fileSize: maxBytes + 1, files: 1, fields: 5, fieldSize: 1024, fieldNameSize: 100, parts: 8, headerPairs: 20 };
}

function fileProblem(field: string, message: string): AppError {
  return new AppError('validation_failed', { errors: [{ field, message }] });
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', { detail: `The file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB` });
}

/**
 * Reads the one file of a multipart/form-data request into memory, refusing it (413) as soon
 * as more than `maxBytes` have arrived — a Content-Length that says so is refused before any
 * byte is read. No file, a second file or a file under another field name: 422 naming the field.
 * Text fields are ignored (and kept tiny by the busboy limits).
 */
export async function readSingleFile(request: FastifyRequest, limits: SingleFileLimits): Promise<Buffer> {
  const { field, maxBytes } = limits;
  if (!request.isMultipart()) {
    throw new AppError('unsupported_media_type', { detail: `Send the file as multipart/form-data, in the field "${field}"` });
  }
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes + FRAMING_ALLOWANCE) throw tooLarge(maxBytes);

  let file: Buffer | null = null;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      if (part.fieldname !== field) {
        part.file.resume();
        throw fileProblem(field, `is required: the file was sent in the field "${part.fieldname.slice(0, 100)}"`);
      }
      if (file !== null) throw fileProblem(field, 'only one file may be sent');
      file = await readUpTo(part.file, maxBytes);
    }
  } catch (err) {
    throw multipartError(err, field, maxBytes);
  }
  if (file === null) throw fileProblem(field, 'is required (multipart/form-data with one file)');
  return file;
}

async function readUpTo(stream: Readable & { truncated?: boolean }, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      stream.destroy();
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  if (stream.truncated) throw tooLarge(maxBytes);
  return Buffer.concat(chunks, total);
}

function multipartError(err: unknown, field: string, maxBytes: number): AppError {
  if (err instanceof AppError) return err;
  switch ((err as { code?: unknown } | null)?.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(maxBytes);
    case 'FST_FILES_LIMIT':
      return fileProblem(field, 'only one file may be sent');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new AppError('validation_failed', { detail: 'The form has too many parts', errors: [{ field: '(body)', message: 'has too many parts' }] });
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new AppError('unsupported_media_type', { detail: `Send the file as multipart/form-data, in the field "${field}"` });
  }
  // busboy: a malformed or cut-off body, a missing boundary…
  return new AppError('bad_request', { detail: 'The multipart/form-data body is malformed or incomplete', cause: err });
}
