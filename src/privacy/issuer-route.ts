/**
 * IssuerRoute: the issuer's two HTTP resources on the relay's HTTP/3 server (RFC 9578):
 *
 *   GET  /.well-known/private-token-issuer-directory       §4, public, no authentication
 *   POST /.well-known/private-token-issuer/token-request   §5, body application/private-token-request
 *
 * Issuance needs a connection authenticated with Noise (the client's long-term key: the
 * ingress already knows it). The POST may itself be the connection's first request and
 * carry `masque-noise`; its 200 then carries the Noise answer. Refusals are an HTTP status
 * with the code in Proxy-Status `details`, like every other refusal of the relay.
 * Nothing is logged at info: issuance events are counted (router metrics), not logged.
 */
import type { Logger } from 'pino';
import type { H3Stream } from '../h3/h3-stream.js';
import type { FieldLine } from '../h3/qpack/types.js';
import type { Principal } from '../identity/authorizer.js';
import { isMasqueError } from '../core/errors.js';
import { PrivacyError } from './errors.js';
import { ISSUER_DIRECTORY_PATH, ISSUER_REQUEST_PATH, MEDIA_ISSUER_DIRECTORY, MEDIA_TOKEN_REQUEST, MEDIA_TOKEN_RESPONSE } from './issuer.js';
import type { IssuerService } from './issuer-service.js';
import { TOKEN_REQUEST_LEN } from './token.js';

/** A non-CONNECT request as the router hands it over (request-router.ts `PlainRequestHandler`). */
export interface PlainRequest {
  stream: H3Stream;
  method: string;
  path: string;
  fields: FieldLine[];
  /** Authenticates the connection with this request's credentials if not done yet. false: refused and answered. */
  authenticate(): boolean;
  principal(): Principal | null;
  /** Response headers owed from authentication (the Noise answer), once. */
  takeAuthHeaders(): FieldLine[];
  /** Reports the final status (metrics). */
  done(status: number): void;
}

const PROXY_NAME = 'masque-relay';

export class IssuerRoute {
  constructor(private readonly issuer: () => IssuerService, private readonly log: Logger) {}

  /** Handles the issuer's paths; false for any other request (the router refuses it as before). */
  handle(r: PlainRequest): boolean {
    const path = r.path.split('?')[0];
    if (path === ISSUER_DIRECTORY_PATH && (r.method === 'GET' || r.method === 'HEAD')) {
      const body = new TextEncoder().encode(this.issuer().directoryJson());
      r.stream.respond([[':status', '200'], ['content-type', MEDIA_ISSUER_DIRECTORY], ['content-length', String(body.length)], ['cache-control', 'max-age=300']], { endStream: r.method === 'HEAD' });
      if (r.method === 'GET') r.stream.write(body, true);
      r.done(200);
      return true;
    }
    if (path !== ISSUER_REQUEST_PATH || r.method !== 'POST') return false;
    if (!r.authenticate()) return true;
    const p = r.principal();
    const authHeaders = r.takeAuthHeaders();
    const refuse = (e: unknown) => {
      if (!isMasqueError(e) || !('httpStatus' in e)) this.log.warn({ err: e }, 'token issuance failed');
      const status = e instanceof PrivacyError ? e.httpStatus : 500;
      const code = isMasqueError(e) ? e.code : 'ERR_PRIVACY_INTERNAL';
      this.log.debug({ code, status }, 'token request refused');
      r.stream.respond([[':status', String(status)], ...authHeaders, ['proxy-status', `${PROXY_NAME}; error=http_request_denied; details="${code}"`]], { endStream: true });
      r.done(status);
    };
    if (p?.kind !== 'noise') return refuse(new PrivacyError('ERR_PRIVACY_NOT_AUTHENTICATED', 'issuance needs a Noise-authenticated client')), true;
    const ct = r.fields.find(([n]) => n === 'content-type')?.[1]?.split(';')[0]?.trim().toLowerCase();
    if (ct !== MEDIA_TOKEN_REQUEST) return refuse(new PrivacyError('ERR_PRIVACY_CONTENT_TYPE', 'want application/private-token-request')), true;
    const client = `noise:${p.publicKey}`;
    const chunks: Uint8Array[] = [];
    let size = 0;
    r.stream.handler = {
      onData: (_s, bytes) => {
        size += bytes.length;
        if (size <= TOKEN_REQUEST_LEN) chunks.push(bytes);
      },
      onEnd: () => {
        if (size > TOKEN_REQUEST_LEN) return refuse(new PrivacyError('ERR_PRIVACY_MALFORMED', 'token request too long'));
        this.issuer().issue(client, Buffer.concat(chunks)).then((res) => {
          r.stream.respond([[':status', '200'], ...authHeaders, ['content-type', MEDIA_TOKEN_RESPONSE], ['content-length', String(res.length)]]);
          r.stream.write(res, true);
          r.done(200);
        }, refuse);
      },
    };
    return true;
  }
}
