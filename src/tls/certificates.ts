import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChildProcess } from '../threads/worker.js';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface CertificateBundle {
  ca: KeyPair;
  serving: KeyPair;
}

export interface CertificateRequest {
  /** DNS names and IP addresses the serving certificate is valid for; the first is its common name. */
  hosts: readonly string[];
  validityDays?: number;
  /** Sign with this CA instead of creating a new one (renewing the serving certificate only). */
  ca?: KeyPair;
}

/** How a local run is reached: `npm start`, `serve` without a certificate, and `certs` all cover these. */
export const LOCAL_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** The DNS names by which a Service is reached from inside the cluster (the API server uses the `.svc` ones). */
export function serviceHosts(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export function certificateValidity(pem: string): { notBefore: Date; notAfter: Date } {
  const certificate = new X509Certificate(pem);
  return { notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) };
}

/** True when less than `fraction` of the certificate's lifetime is left. */
export function needsRenewal(pem: string, fraction = 1 / 3, now = new Date()): boolean {
  const { notBefore, notAfter } = certificateValidity(pem);
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return notAfter.getTime() - now.getTime() < lifetime * fraction;
}

function isFresh(certFile: string): boolean {
  try {
    return !needsRenewal(readFileSync(certFile, 'utf8'));
  } catch {
    return false; // missing or not a certificate: generate a new one
  }
}

export const CERTIFICATE_FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** Which of the certificate files already exist in a directory (so that `certs` does not replace a CA unasked). */
export function existingCertificateFiles(directory: string): string[] {
  return Object.values(CERTIFICATE_FILES).filter((file) => existsSync(join(directory, file)));
}

/** Where a directory holds the CA, the serving certificate and its key. */
export function certificatePaths(directory: string): { caFile: string; certFile: string; keyFile: string } {
  return {
    caFile: join(directory, CERTIFICATE_FILES.ca),
    certFile: join(directory, CERTIFICATE_FILES.cert),
    keyFile: join(directory, CERTIFICATE_FILES.key),
  };
}

/** Writes ca.crt, tls.crt and tls.key (0600), as in a kubernetes.io/tls Secret. */
export function writeCertificates(directory: string, bundle: CertificateBundle): void {
  mkdirSync(directory, { recursive: true });
  const { caFile, certFile, keyFile } = certificatePaths(directory);
  writeFileSync(caFile, bundle.ca.cert);
  writeFileSync(certFile, bundle.serving.cert);
  writeFileSync(keyFile, bundle.serving.key, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
}

/**
 * Local certificates for `serve --cert-dir`: reused from `directory` while still valid, otherwise
 * generated there, in a child process as the cluster's are. Returns the paths of the serving pair and the CA.
 */
export async function ensureLocalCertificates(directory: string, hosts: readonly string[]) {
  const paths = certificatePaths(directory);
  const reusable = existsSync(paths.keyFile) && existsSync(paths.caFile) && isFresh(paths.certFile);
  if (!reusable) writeCertificates(directory, await generateCertificatesInChildProcess({ hosts }));
  return { ...paths, generated: !reusable };
}

/** How long a child process may take to make a bundle (it takes ~0.3 s) before it is killed. */
const CHILD_PROCESS_TIMEOUT_MS = 60_000;

/**
 * generateCertificates in a short-lived child process (src/tls/generate-process.ts): for the server,
 * which would otherwise keep the certificate libraries loaded, ~12 MB of RSS, for a renewal due
 * months later. A worker thread would not do: the memory of its heap stays in the process after it exits.
 */
export function generateCertificatesInChildProcess(request: CertificateRequest): Promise<CertificateBundle> {
  const child = startChildProcess('generate-process', import.meta.url, {
    serialization: 'json',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_PROCESS_TIMEOUT_MS);
  return new Promise<CertificateBundle>((resolve, reject) => {
    let outcome: { bundle: CertificateBundle } | { error: string } | undefined;
    child.once('message', (message: NonNullable<typeof outcome>) => (outcome = message));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (outcome !== undefined && 'bundle' in outcome) resolve(outcome.bundle);
      else {
        const reason = outcome?.error ?? `its process ended (${signal ?? `exit code ${code}`})${stderr === '' ? '' : `: ${stderr.trim()}`}`;
        reject(new Error(`cannot generate certificates: ${reason}`));
      }
    });
    child.send(request);
  });
}
