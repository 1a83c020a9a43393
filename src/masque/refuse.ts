/**
 * Answers a refused MASQUE request (RFC 9209 / masque-go's errToStatus): the HTTP status and a
 * `Proxy-Status` with the error type, then the end of the stream. If the response can no
 * longer be sent (the stream is already answered or gone), the stream is reset with
 * H3_CONNECT_ERROR instead (RFC 9114 §4.4). Shared by the CONNECT-UDP and CONNECT-IP proxies.
 */
import type { H3Stream } from '../h3/h3-stream.js';
import { H3_CONNECT_ERROR } from '../h3/errors.js';
import { errToStatus, formatProxyStatus } from './proxy-status.js';

export function respondRefusal(stream: H3Stream, proxyName: string, err: unknown): void {
  const st = errToStatus(err);
  try {
    stream.respond([[':status', String(st.httpStatus)], ['proxy-status', formatProxyStatus(proxyName, st)]], { endStream: true });
  } catch {
    stream.reset(H3_CONNECT_ERROR);
  }
}
