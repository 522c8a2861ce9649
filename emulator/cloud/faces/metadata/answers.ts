import type { FaceResponse } from '../face.ts';

/** The plain-text answers of the EC2 and ECS metadata services (and the server's own 404 at the metadata address). */
export const text = (status: number, body: string): FaceResponse => ({ status, headers: { 'content-type': 'text/plain' }, body });
export const notFound = (): FaceResponse => text(404, 'Not Found');
