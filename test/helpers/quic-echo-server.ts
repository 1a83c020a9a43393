/** A QUIC echo server in its own process (killed with SIGKILL by tests). Args: port secretHex. Prints "ready". */
import { QuicEndpoint } from '../../src/quic/endpoint.js';
import { UdpPath } from '../../src/quic/udp-path.js';
import { createQuicConfig } from '../../src/quic/config.js';
import { EchoServerApp } from '../../src/quic/examples/echo.js';
import { testCert } from './quic.js';

const [port, secretHex] = process.argv.slice(2);
const cert = await testCert();
const path = await UdpPath.bind({ host: '127.0.0.1', port: Number(port) });
new QuicEndpoint({
  path,
  server: { config: createQuicConfig({ isServer: true, alpn: ['echo'], ...cert, resetSecret: Buffer.from(secretHex, 'hex') }), onConnection: () => new EchoServerApp() },
});
process.stdout.write(`ready ${path.local.port}\n`);
