import type { IncomingMessage } from 'node:http';
import { BodyTooLarge, type FaceResponse } from './faces/face.ts';

const maxBodyBytes = 1024 * 1024;

/** The request body as text; rejects with BodyTooLarge past 1 MiB. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        // Keep draining instead of destroying the socket, so the client gets the 413.
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The emulator's own answers (introspection, unknown endpoints, transport failures): pretty-printed JSON. */
export const jsonAnswer = (status: number, value: unknown): FaceResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value, null, 2),
});
