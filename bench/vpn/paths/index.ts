// ┌──────────────────────────────────────────────────────────────────────────────────────┐
// │ PATH REGISTRY of the VPN benchmark (`npm run bench -- --paths a,b`).                 │
// │ Order = run order. To add a path: write bench/vpn/paths/<name>.ts exporting a        │
// │ VpnPathSpec (contract in ../path.ts), import it here and append it to PATHS.         │
// └──────────────────────────────────────────────────────────────────────────────────────┘
import type { VpnPathSpec } from '../path.js';
import { plainPath } from './plain.js';
import { wireguardOneHop, wireguardTwoHop } from './wireguard.js';
import { openVpnPath } from './openvpn.js';
import { masqueOneHop, masqueTwoHop, masqueTwoHopTunnelled } from './masque.js';

/** All benchmark paths, in run order. */
export const PATHS: VpnPathSpec[] = [
  // Baselines.
  plainPath,
  wireguardOneHop,
  wireguardTwoHop,
  openVpnPath,
  // masque-relay.
  masqueOneHop,
  masqueTwoHop,
  masqueTwoHopTunnelled,
];
