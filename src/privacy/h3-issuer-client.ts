/**
 * H3IssuerTransport: the wallet's IssuerTransport over an HTTP/3 connection to the issuer
 * (the ingress, on the client's already authenticated QUIC connection). `firstHeaders`
 * (e.g. a `masque-noise` hello) go on the first token request (POST) only, for a connection
 * whose first authenticated request is the issuance itself; `onFirstResponse` then sees
 * that response's fields. Send that first POST alone (a batch of 1) before parallel ones.
 */
import type { ClientH3Driver } from '../h3/client.js';
import type { FieldLine } from '../h3/qpack/types.js';
import { PrivacyError } from './errors.js';
import { ISSUER_DIRECTORY_PATH, ISSUER_REQUEST_PATH, MEDIA_TOKEN_REQUEST } from './issuer.js';
import type { IssuerTransport } from './wallet.js';

/** Directory documents are small; anything larger is refused. */
const MAX_BODY_BYTES = 64 * 1024;

export interface H3IssuerOptions {
  authority: string;
  timeoutMs: number;
  firstHeaders?: FieldLine[];
  onFirstResponse?: (fields: FieldLine[]) => void;
}

export class H3IssuerTransport implements IssuerTransport {
  private isFirst = true;

  constructor(private readonly h3: ClientH3Driver, private readonly o: H3IssuerOptions) {}

  async fetchDirectory(): Promise<string> {
    const r = await this.send('GET', ISSUER_DIRECTORY_PATH, [], undefined);
    return new TextDecoder().decode(r);
  }

  requestToken(body: Uint8Array): Promise<Uint8Array> {
    return this.send('POST', ISSUER_REQUEST_PATH, [['content-type', MEDIA_TOKEN_REQUEST], ['content-length', String(body.length)]], body);
  }

  private send(method: string, path: string, extra: FieldLine[], body: Uint8Array | undefined): Promise<Uint8Array> {
    const isFirst = this.isFirst && method === 'POST';
    const first = isFirst ? (this.o.firstHeaders ?? []) : [];
    const onFirst = isFirst ? this.o.onFirstResponse : undefined;
    if (isFirst) this.isFirst = false;
    const fields: FieldLine[] = [[':method', method], [':scheme', 'https'], [':authority', this.o.authority], [':path', path], ...first, ...extra];
    return new Promise((resolve, reject) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      let status = 0;
      const fail = (msg: string) => {
        clearTimeout(t);
        reject(new PrivacyError('ERR_PRIVACY_ISSUER_RESPONSE', `issuer ${method} ${path}: ${msg}`));
      };
      const t = setTimeout(() => fail(`no answer within ${this.o.timeoutMs} ms`), this.o.timeoutMs);
      const stream = this.h3.request(fields, {
        endStream: body === undefined,
        handler: {
          onResponse: (_s, head) => {
            status = head.status;
            onFirst?.(head.fields);
          },
          onData: (_s, b) => {
            size += b.length;
            if (size <= MAX_BODY_BYTES) chunks.push(b);
          },
          onEnd: () => {
            if (status !== 200) return fail(`status ${status}`);
            if (size > MAX_BODY_BYTES) return fail('body too large');
            clearTimeout(t);
            resolve(Buffer.concat(chunks));
          },
          onReset: (_s, code) => fail(`stream reset (${code})`),
        },
      });
      if (body !== undefined) stream.write(body, true);
    });
  }
}
