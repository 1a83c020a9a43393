/**
 * A daemon-like process for CLI tests: serves the control API with a FakeBackend on the
 * socket given as argv[2] and prints "ready" on stdout. Env FAKE_FAIL=CODE makes connects
 * fail with that code; FAKE_STEP_MS sets the stage delay.
 * Exits cleanly on SIGTERM/SIGINT.
 */
import { ControlServer } from '../../src/control/server.js';
import { silentLogger } from '../../src/log/logger.js';
import { FakeBackend } from './fake-backend.js';

const socketPath = process.argv[2];
if (!socketPath) {
  console.error('usage: control-daemon.js SOCKET');
  process.exit(2);
}
const fail = process.env.FAKE_FAIL;
const backend = new FakeBackend({
  stepMs: Number(process.env.FAKE_STEP_MS ?? 5),
  failWith: fail ? { code: fail, message: 'the fake egress refused us' } : undefined,
});
const server = new ControlServer({ backend, log: silentLogger(), version: '0.0.0-fake' });
await server.listen({ path: socketPath, group: null });
process.stdout.write('ready\n');
const stop = (): void => {
  void server.close().then(() => backend.close()).then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
