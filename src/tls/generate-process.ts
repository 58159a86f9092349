// Child process entry: makes one certificate bundle, hands it to the parent and exits, so the
// libraries that make it never load into the server (see generateCertificatesInChildProcess).
import type { CertificateRequest } from './certificates.js';
import { generateCertificates } from './generate.js';

process.once('message', (request: CertificateRequest) => {
  generateCertificates(request).then(
    (bundle) => process.send?.({ bundle }, () => process.disconnect()),
    (error: unknown) => process.send?.({ error: error instanceof Error ? error.message : String(error) }, () => process.disconnect()),
  );
});
