// One HTTPS GET on a fresh connection with node:https, a real TLS client:
// the server is verified against a CA file and named "localhost".

import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { SecureVersion } from 'node:tls';

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface HttpsGetOptions {
  /** CA file the server certificate is verified against. */
  readonly ca: string;
  /** Client certificate and key files. */
  readonly cert?: string;
  readonly key?: string;
  readonly user?: string;
  readonly password?: string;
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  /** OpenSSL cipher list the client offers (TLS 1.2). */
  readonly ciphers?: string;
}

export function httpsGet(port: number, pathname: string, o: HttpsGetOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        servername: 'localhost',
        agent: false,
        ca: readFileSync(o.ca),
        ...(o.cert ? { cert: readFileSync(o.cert), key: readFileSync(o.key!) } : {}),
        ...(o.user !== undefined ? { auth: `${o.user}:${o.password}` } : {}),
        ...(o.minVersion ? { minVersion: o.minVersion } : {}),
        ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
        ...(o.ciphers ? { ciphers: o.ciphers } : {}),
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
