/**
 * Holds idle CONNECT-IP tunnels open to a relay: `node load.js HOST PORT COUNT`. One UDP
 * socket, one QUIC connection + HTTP/3 + CONNECT-IP session per tunnel (each gets an address
 * assigned). Progress lines and SIGTERM as in hold.ts.
 */
import { ClientH3Driver } from '../../src/h3/client.js';
import { openConnectIp } from '../../src/masque/connect-ip-client.js';
import { defaultIpTemplate } from '../../src/masque/template.js';
import { holdTunnels } from './hold.js';

const [host, portArg, countArg] = process.argv.slice(2);
const port = Number(portArg);

await holdTunnels('load', Number(countArg), async (ep, config) => {
  const h3 = new ClientH3Driver({ settings: { h3Datagram: true } });
  ep.connect({ peer: { host: host!, port }, serverName: 'masque-relay', config, app: h3 });
  await h3.ready;
  await openConnectIp(h3, { template: defaultIpTemplate(`${host}:${port}`), requestAddresses: ['v4'] });
});
