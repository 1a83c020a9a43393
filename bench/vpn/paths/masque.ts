// masque-relay paths for the VPN benchmark: real `relay-cli serve` relays and a
// `relay-cli connect --foreground` client in the testbed (test/helpers/lab.ts).
//   masque-1hop: client → egress (role egress, CONNECT-IP)
//   masque-2hop: client → ingress (CONNECT-UDP) → egress (inner QUIC, CONNECT-IP); the inner
//                connection's packets pass the ingress in forwarded mode (draft-ietf-masque-quic-proxy)
//   masque-2hop-tunnelled: the same with forwarded mode off (MASQUE_QUIC_FORWARDING=0 on the
//                client): every packet rides the outer connection (the anchor for forwarded mode)
import type { VpnPath, VpnPathSpec } from '../path.js';
import type { Testbed } from '../../../test/helpers/testbed.js';
import { Lab, type LabClient } from '../../../test/helpers/lab.js';

function masquePath(isTwoHop: boolean, clientEnv?: Record<string, string>): VpnPath {
  let tb: Testbed | undefined;
  let lab: Lab | undefined;
  let client: LabClient | undefined;
  return {
    async setup(t) {
      tb = t;
      // Single hop reaches the egress through the ingress namespace's forwarding; the guard
      // of `tunnel` mode still drops plain client ⇄ server transit.
      await t.setForwarding('tunnel');
      lab = await Lab.start(t, { twoHop: isTwoHop, clientEnv });
      client = await lab.startClient(lab.clientConfig({ singleHop: !isTwoHop }));
    },
    pids() {
      const out: Record<string, number> = {};
      if (client?.proc.pid) out['masque-client'] = client.proc.pid;
      if (lab?.ingress?.proc.pid) out['masque-ingress'] = lab.ingress.proc.pid;
      if (lab?.egress?.proc.pid) out['masque-egress'] = lab.egress.proc.pid;
      return out;
    },
    async teardown() {
      if (lab && client) await lab.stopClient(client).catch(() => undefined);
      await lab?.stop();
      await tb?.setForwarding('none');
    },
  };
}

export const masqueOneHop: VpnPathSpec = {
  name: 'masque-1hop',
  description: 'masque-relay single hop (CONNECT-IP to the egress)',
  create: () => masquePath(false),
};

export const masqueTwoHop: VpnPathSpec = {
  name: 'masque-2hop',
  description: 'masque-relay two hops (CONNECT-UDP via ingress, inner QUIC + CONNECT-IP to egress)',
  create: () => masquePath(true),
};

export const masqueTwoHopTunnelled: VpnPathSpec = {
  name: 'masque-2hop-tunnelled',
  description: 'masque-relay two hops without forwarded mode (every packet inside the outer connection)',
  create: () => masquePath(true, { MASQUE_QUIC_FORWARDING: '0' }),
};
