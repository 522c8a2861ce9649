/**
 * The reference for the add-latency benchmark: the same API server as ipamd,
 * in its own process like ipamd, fronting a service that does nothing. What
 * remains is the socket, JSON and process hand-off floor of this machine.
 * argv[2] is the socket path; prints one JSON line when listening.
 */
import { IpamError } from '../../wire/errors.ts';
import type { IpamService } from '../../wire/protocol.ts';
import { startApiServer } from '../../ipamd/api/server.ts';
import { silentLogger } from '../../ipamd/logger.ts';

const noop: IpamService = {
  add: async () => ({
    address: '10.0.0.9/32',
    ip: '10.0.0.9',
    interfaceId: 'eni-0',
    deviceIndex: 0,
    mac: '02:00:00:00:00:00',
    subnetCidr: '10.0.0.0/24',
    hostInterface: { name: 'vcni0123456789a', mac: '02:00:00:00:00:03' },
    podInterface: { name: 'eth0', mac: '02:00:00:00:00:04' },
    mtu: 9001,
    podGateway: '169.254.1.1',
  }),
  del: async () => undefined,
  check: async () => {
    throw new IpamError('not-found', 'none');
  },
  status: async () => ({ ready: true }),
  gc: async () => ({ released: 0 }),
};

await startApiServer({ socketPath: process.argv[2] ?? '', service: noop, logger: silentLogger });
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
