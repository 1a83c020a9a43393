/**
 * In-process TLS certificates (@peculiar/x509) for relays that have none and for tests.
 * ECDSA P-256: works with quiche/BoringSSL without special sigalgs (FACTS.md).
 */
import { webcrypto, createHash, X509Certificate } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface CertBundle {
  certPem: string;
  keyPem: string;
  certDer: Uint8Array;
  /** Hex SHA-256 of the certificate's DER (what pinning compares). */
  sha256: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

function sanEntries(names: string[]): { type: 'dns' | 'ip'; value: string }[] {
  return names.map((n) => ({ type: /^[\d.]+$|:/.test(n) ? 'ip' : 'dns', value: n }));
}

export interface CertOptions {
  /** DNS names and IP literals for the subjectAltName; the first is also the CN. */
  names: string[];
  /** Validity in days (default 825). */
  days?: number;
  /** Sign with this CA instead of self-signing. */
  issuer?: { certPem: string; keyPem: string };
  /** Make a CA certificate (basicConstraints cA). */
  isCa?: boolean;
}

async function importKey(keyPem: string): Promise<CryptoKey> {
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']) as Promise<CryptoKey>;
}

/** Generates a key pair and a certificate (self-signed, or signed by `issuer`). */
export async function generateCert(opts: CertOptions): Promise<CertBundle> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cn = opts.names[0] ?? 'masque-relay';
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(!!opts.isCa, undefined, true)];
  if (!opts.isCa) extensions.push(new x509.SubjectAlternativeNameExtension(sanEntries(opts.names)));
  const common = {
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + (opts.days ?? 825) * 86400_000),
    signingAlgorithm: ALG,
    extensions,
  };
  let cert: x509.X509Certificate;
  if (opts.issuer) {
    const issuerCert = new x509.X509Certificate(opts.issuer.certPem);
    cert = await x509.X509CertificateGenerator.create({
      ...common,
      subject: `CN=${cn}`,
      issuer: issuerCert.subject,
      publicKey: keys.publicKey,
      signingKey: await importKey(opts.issuer.keyPem),
    });
  } else {
    cert = await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: `CN=${cn}`, keys });
  }
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const certDer = new Uint8Array(cert.rawData);
  return { certPem: cert.toString('pem') + '\n', keyPem: toPem('PRIVATE KEY', pkcs8), certDer, sha256: sha256Hex(certDer) };
}

/** A self-signed leaf for `names` (first start of a relay with no certificate; tests). */
export function generateSelfSigned(opts: { names: string[]; days?: number }): Promise<CertBundle> {
  return generateCert(opts);
}

export function sha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** SHA-256 (hex) of the first certificate in a PEM string. */
export function pemSha256(certPem: string): string {
  return sha256Hex(new Uint8Array(new X509Certificate(certPem).raw));
}
