import type { Request } from 'express';
import { HttpError } from './http-error.js';

/**
 * How long a webhook body may take to arrive once its headers are in. Kombo sends a few KB at once, so a body still
 * arriving after this is a slow sender holding one of the few body slots: it is cut off (408) long before the server's
 * request timeout (30 s) would.
 */
export const WEBHOOK_BODY_TIMEOUT_MS = 5_000;

/** Refusals answered before the whole body is read also close the connection, so the rest is never read. */
export const CLOSE = { Connection: 'close' } as const;

/**
 * Reads a request body of at most `limit` bytes within `timeoutMs`: rejects with 413 as soon as it goes past the
 * limit, with 408 once the time is up, and with 400 when the client goes away before the end. A refusal stops reading
 * and says the connection closes.
 */
export function readWebhookBody(req: Request, options: { limit: number; timeoutMs: number; tooLarge: string }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      clearTimeout(deadline);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
    };
    const refuse = (error: HttpError) => {
      done();
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= options.limit) return void chunks.push(chunk);
      refuse(new HttpError(413, options.tooLarge, CLOSE));
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onClose = () => {
      done();
      reject(new HttpError(400, 'Webhook body ended early'));
    };
    const deadline = setTimeout(() => refuse(new HttpError(408, `Webhook body did not arrive within ${options.timeoutMs / 1000} s`, CLOSE)), options.timeoutMs);
    deadline.unref();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose); // a client gone mid-body; without a listener Node would not emit it at all
  });
}
