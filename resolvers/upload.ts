import { AppError } from '../common/errors.js';
import type { FileUpload } from '../schema/scalars.js';

/**
 * Reads an uploaded file into memory, refusing more than maxBytes (TOO_LARGE). graphql-upload
 * also stops at its maxFileSize and reports that as an HTTP 413 error on the stream.
 */
export async function readUpload(file: Promise<FileUpload>, maxBytes: number): Promise<{ bytes: Uint8Array; filename: string }> {
  const upload = await file;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of upload.createReadStream()) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const status = (err as { status?: number }).status;
    if (status === 413) throw tooLarge(maxBytes);
    throw new AppError('BAD_PARAMS', `could not read the upload: ${(err as Error).message}`);
  }
  const buf = Buffer.concat(chunks);
  return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), filename: upload.filename };
}

const tooLarge = (maxBytes: number) => new AppError('TOO_LARGE', `the upload exceeds the limit of ${maxBytes} bytes`);
