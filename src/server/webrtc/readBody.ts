import type { IncomingMessage } from 'node:http';

/** The body was longer than allowed (the rest is not read). */
export class BodyTooLarge extends Error {}

/**
 * Reads a request body of at most `max` bytes within `timeoutMs`. A lying Content-Length or a
 * chunked body past the cap is refused as soon as it passes it, never buffered whole.
 */
export function readBody(req: IncomingMessage, max: number, timeoutMs = 10_000): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) return Promise.reject(new BodyTooLarge(`body of ${declared} bytes, more than ${max}`));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => fail(new Error(`body not received within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      req.removeAllListeners('data');
      req.pause();
      reject(err);
    };
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > max) return fail(new BodyTooLarge(`body longer than ${max} bytes`));
      parts.push(d);
    });
    req.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts, size));
    });
    req.once('error', fail);
  });
}
