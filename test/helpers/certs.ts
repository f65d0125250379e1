// Throw-away PKI for TLS tests, made with the openssl CLI: a CA, a server
// certificate for localhost/127.0.0.1, a client certificate from the same CA
// and one from an unrelated CA (EC P-256, valid one day).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Signed by another CA: fails verification against caCert. */
  readonly badClientCert: string;
  readonly badClientKey: string;
  /** A localhost server certificate from the other CA (other-ca.crt): a renewal test's new certificate. */
  readonly otherServerCert: string;
  readonly otherServerKey: string;
  readonly otherCaCert: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ca(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`], dir);
}

function leaf(dir: string, name: string, issuer: string, subject: string, ext: string): void {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`], dir);
}

export function makePki(dir: string): TestPki {
  ca(dir, 'ca');
  ca(dir, 'other-ca');
  leaf(dir, 'server', 'ca', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf(dir, 'client', 'ca', '/CN=prometheus', 'subjectAltName=DNS:prometheus.monitoring.svc\nextendedKeyUsage=clientAuth\n');
  leaf(dir, 'other-server', 'other-ca', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf(dir, 'bad-client', 'other-ca', '/CN=prometheus', 'subjectAltName=DNS:prometheus.monitoring.svc\nextendedKeyUsage=clientAuth\n');
  const f = (n: string) => path.join(dir, n);
  return {
    dir,
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    badClientCert: f('bad-client.crt'),
    badClientKey: f('bad-client.key'),
    otherServerCert: f('other-server.crt'),
    otherServerKey: f('other-server.key'),
    otherCaCert: f('other-ca.crt'),
  };
}
