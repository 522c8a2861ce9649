/**
 * A fake ipamd on a socket: the real API server (ipamd/api/server.ts) in
 * front of a FakeIpamService, in a temporary directory of its own.
 */
import path from 'node:path';
import { IpamError } from '../../wire/errors.ts';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../ipamd/api/server.ts';
import { silentLogger } from '../../ipamd/common/logger.ts';
import { FakeIpamService } from './ipam-service.ts';
import { removeDir, tempDir } from './temp-dir.ts';

export interface FakeIpamd {
  /** The directory the socket lives in; removed by close(). Tests may put other files here. */
  dir: string;
  socketPath: string;
  service: FakeIpamService;
  server: ApiServer;
  /** Stops the server and removes `dir`. */
  close(): Promise<void>;
}

export type FakeIpamdOptions = Partial<Omit<ApiServerOptions, 'service'>> & { service?: FakeIpamService };

/** `socketPath` defaults to ipamd.sock in the new directory; the logger to a silent one. */
export async function startFakeIpamd(options: FakeIpamdOptions = {}): Promise<FakeIpamd> {
  const dir = await tempDir('ipamd-fake-');
  const socketPath = options.socketPath ?? path.join(dir, 'ipamd.sock');
  const service = options.service ?? new FakeIpamService();
  try {
    const server = await startApiServer({ logger: silentLogger, ...options, socketPath, service });
    return {
      dir,
      socketPath,
      service,
      server,
      close: async () => {
        await server.close();
        await removeDir(dir);
      },
    };
  } catch (err) {
    await removeDir(dir);
    throw err;
  }
}

/** The error an ipamd call failed with; fails the test when the call succeeds. */
export async function callFailure(call: Promise<unknown>): Promise<IpamError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof IpamError) return err;
    throw err;
  }
  throw new Error('expected the call to fail, it succeeded');
}
