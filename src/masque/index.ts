/**
 * Public surface of src/masque: the sans-IO codecs (templates, requests, capsules, policy,
 * pools, Proxy-Status) and the live sessions of CONNECT-UDP (RFC 9298) and CONNECT-IP
 * (RFC 9484), client and proxy sides. See README.md and docs/masque.md.
 */
export * from './errors.js';
export * from './ip-prefix.js';
export * from './template.js';
export * from './proxy-request.js';
export * from './proxy-status.js';
export * from './policy.js';
export * from './address-pool.js';
export * from './connect-ip-capsules.js';
export { MasqueSessionError, openConnectUdp, ConnectUdpSession, requestTunnel, buildTunnelRequestFields } from './connect-udp-client.js';
export type { ConnectUdpOptions, SessionStats, TunnelRequest } from './connect-udp-client.js';
export { ConnectUdpProxy } from './connect-udp-proxy.js';
export type { ConnectUdpProxyOptions, ConnectUdpProxyCounters } from './connect-udp-proxy.js';
export { openConnectIp, ConnectIpSession } from './connect-ip-client.js';
export type { ConnectIpOptions, ConnectIpStats } from './connect-ip-client.js';
export { ConnectIpProxy } from './connect-ip-proxy.js';
export type { ConnectIpProxyOptions, ConnectIpProxyCounters, IpNetwork } from './connect-ip-proxy.js';
export { CONNECT_IP_HEADROOM, CONNECT_IP_MIN_MTU, fullTunnelRoutes, prefixToRange } from './connect-ip-packet.js';
