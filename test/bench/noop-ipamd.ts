/**
 * The reference for the add-latency benchmark: the same API server as ipamd,
 * in its own process like ipamd, fronting the tests' fake service (an
 * in-memory map, no cloud, no disk, no data plane). What remains is the
 * socket, JSON and process hand-off floor of this machine.
 * argv[2] is the socket path; prints one JSON line when listening.
 */
import { startApiServer } from '../../ipamd/api/server.ts';
import { silentLogger } from '../../ipamd/common/logger.ts';
import { FakeIpamService } from '../fakes/ipam-service.ts';

await startApiServer({ socketPath: process.argv[2] ?? '', service: new FakeIpamService(), logger: silentLogger });
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
