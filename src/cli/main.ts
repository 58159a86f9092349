#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { PolicyError } from '../engine/policy.js';
import type { AuditOptions } from './audit.js';
import { checkManifests, formatRuleError } from './check.js';
import { fixManifests } from './fix.js';
import { expandPaths, InputError, readManifests } from './manifests.js';
import { loadPolicyFile } from './policy-file.js';
import {
  parseDuration,
  parseKubeVersion,
  parseList,
  parseNamespacedName,
  parsePort,
  parsePositiveInteger,
  parseSeconds,
} from './options.js';
import type { ClusterInfo } from '../core/types.js';
import { formatJson, formatTable } from './report-format.js';
import type { ServeOptions } from './serve.js';
import { serviceHosts } from '../tls/service-hosts.js';
import { styleFor } from './style.js';

// serve, audit and certs are imported when they run: the Kubernetes client, express and the
// certificate code take seconds to load, which `check` in a CI pipeline should not pay for.

/** Exit codes shared by every command (a contract for CI pipelines). */
export const EXIT = { clean: 0, denied: 1, badInput: 2 } as const;

function readStdin(): string {
  return readFileSync(0, 'utf8');
}

function readAll(paths: readonly string[]) {
  return expandPaths(paths).map((path) => readManifests(path, readStdin));
}

function runCheck(paths: string[], options: { policy?: string; output: 'table' | 'json'; kubeVersion?: ClusterInfo }): number {
  const policy = loadPolicyFile(options.policy);
  const result = checkManifests(readAll(paths), policy, options.kubeVersion);
  for (const error of result.errors) process.stderr.write(formatRuleError(error));
  const { errors, ...report } = result;
  process.stdout.write(
    options.output === 'json' ? formatJson(report) : formatTable(report, (finding) => finding.file ?? '', styleFor(process.stdout)),
  );
  if (errors.length > 0) return EXIT.badInput;
  return report.summary.denied > 0 ? EXIT.denied : EXIT.clean;
}

function runFix(paths: string[], options: { policy?: string; write?: boolean; kubeVersion?: ClusterInfo }): number {
  const policy = loadPolicyFile(options.policy);
  const files = readAll(paths);
  if (options.write && files.some((file) => file.path === '-')) throw new InputError('--write cannot write back to stdin (-)');
  const fixed = files.map((file) => fixManifests(file, policy, options.kubeVersion));
  const errors = fixed.flatMap((file) => file.errors);
  if (errors.length > 0) {
    // Nothing is written or printed: a manifest with some of its fixes missing would pass for fixed.
    for (const error of errors) process.stderr.write(formatRuleError(error));
    return EXIT.badInput;
  }
  for (const file of fixed) {
    if (options.write) {
      if (file.changes > 0) writeFileSync(file.path, file.text);
      process.stderr.write(`${file.path}: ${file.changes === 0 ? 'unchanged' : `${file.changes} change(s) written`}\n`);
    } else {
      if (fixed.length > 1) process.stdout.write(`# Source: ${file.path}\n`);
      process.stdout.write(file.text.endsWith('\n') || file.text === '' ? file.text : `${file.text}\n`);
      if (fixed.length > 1 && file !== fixed[fixed.length - 1]) process.stdout.write('---\n');
    }
  }
  return EXIT.clean;
}

export function buildProgram(): Command {
  const program = new Command('lifecycle-guard')
    .description('Makes Kubernetes workloads shut down and start up correctly: admission webhook and manifest checker.')
    .version((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version)
    .showHelpAfterError()
    .exitOverride();

  /** check and fix read the same inputs under the same policy. */
  const manifestCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .argument('<paths...>', 'YAML or JSON manifests, directories (searched recursively), or - for stdin')
      .option('--policy <file>', 'policy file (default: the built-in policy)')
      .option(
        '--kube-version <version>',
        'target cluster version, e.g. 1.29 (before 1.30 the preStop delay is an exec `sleep`)',
        parseKubeVersion,
      );

  manifestCommand('check', 'check manifests as the webhook would; exit 1 if it would deny one')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action((paths: string[], options: Parameters<typeof runCheck>[1]) => {
      process.exitCode = runCheck(paths, options);
    });

  manifestCommand('fix', 'apply the mutating rules to manifests, keeping comments, key order and formatting')
    .option('-w, --write', 'write the changes back to the files instead of printing them')
    .action((paths: string[], options: Parameters<typeof runFix>[1]) => {
      process.exitCode = runFix(paths, options);
    });

  program
    .command('certs')
    .description('write a CA and a serving certificate (ca.crt, tls.crt, tls.key) for local use or bring-your-own TLS')
    .requiredOption('--out <dir>', 'directory to write to (created if missing)')
    .addOption(
      new Option('--hosts <hosts>', 'DNS names and IPs, comma-separated')
        .argParser(parseList)
        .default(
          ['localhost', '127.0.0.1', ...serviceHosts('lifecycle-guard', 'lifecycle-guard')],
          'localhost, 127.0.0.1 and the DNS names of the lifecycle-guard Service',
        ),
    )
    .addOption(
      new Option('--validity <duration>', 'lifetime of the serving certificate (the CA lives twice as long)')
        .argParser(parseDuration)
        .default(parseDuration('365d'), '365d'),
    )
    .action(async (options: { out: string; hosts: string[]; validity: number }) => {
      const { generateCertificates, writeCertificates } = await import('../tls/certificates.js');
      const bundle = await generateCertificates({ hosts: options.hosts, validityDays: options.validity / 86_400_000 });
      writeCertificates(options.out, bundle);
      process.stderr.write(`wrote ${options.out}/ca.crt, tls.crt and tls.key (${options.hosts.join(', ')})\n`);
    });

  program
    .command('audit')
    .description('scan what already runs in a cluster with the same rules; exit 1 if the webhook would deny something')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)')
    .option('-n, --namespace <namespace>', 'only this namespace')
    .option('-A, --all-namespaces', 'every namespace (the default)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml', 'html']).default('table'))
    .option('--policy <file>', 'policy file (default: the built-in policy)')
    .option('--page-size <n>', 'objects per list request (bounds memory)', parsePositiveInteger, 500)
    .action(async (options: AuditOptions) => {
      const { runAudit } = await import('./audit.js');
      const report = await runAudit(options);
      process.exitCode = report.summary.denied > 0 ? EXIT.denied : EXIT.clean;
    });

  program
    .command('serve')
    .description('run the admission webhook over HTTPS (POST /validate, /mutate; GET /healthz, /readyz, /metrics)')
    .option('--port <port>', 'HTTPS port', parsePort, 8443)
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--tls-cert <file>', 'serving certificate (PEM); reloaded when the file changes')
    .option('--tls-key <file>', 'private key of the serving certificate (PEM)')
    .option('--cert-dir <dir>', 'where a local self-signed pair is generated when no --tls-cert is given', 'certs')
    .option('--policy <file>', 'policy file (default: the built-in policy)')
    .option('--policy-configmap <namespace/name>', `policy from this ConfigMap's policy.yaml key, followed live`, parseNamespacedName)
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)')
    .option('--namespace <namespace>', "the webhook's own namespace (always excluded)", process.env.POD_NAMESPACE ?? 'lifecycle-guard')
    .option('--tls-secret <name>', 'keep the CA and serving certificate in this kubernetes.io/tls Secret and set caBundle')
    .option('--service-name <name>', 'Service in front of the webhook (the certificate covers its DNS names)', 'lifecycle-guard')
    .option('--mutating-webhook <name>', 'MutatingWebhookConfiguration whose caBundle is kept current', 'lifecycle-guard')
    .option('--validating-webhook <name>', 'ValidatingWebhookConfiguration whose caBundle is kept current', 'lifecycle-guard')
    .addOption(
      new Option('--cert-validity <duration>', 'lifetime of serving certificates (renewed when a third is left)')
        .argParser(parseDuration)
        .default(parseDuration('365d'), '365d'),
    )
    .option(
      '--cert-extra-hosts <hosts>',
      'more DNS names or IPs for the certificate, comma-separated (a webhook reached by URL)',
      parseList,
    )
    .option('--shutdown-delay <seconds>', 'on SIGTERM, keep serving this long with /readyz failing', parseSeconds, 5)
    .option('--shutdown-timeout <seconds>', 'then wait this long for in-flight requests', parseSeconds, 20)
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .addOption(
      new Option('--request-timeout <seconds>', 'close connections whose request has not arrived in full after this long (default 30)')
        .argParser(parseSeconds)
        .hideHelp(),
    )
    .action(async (options: ServeOptions) => {
      const { runServe } = await import('./serve.js');
      await runServe(options);
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.clean;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0
        ? EXIT.clean
        : EXIT.badInput;
    }
    if (error instanceof InputError || error instanceof PolicyError) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT.badInput;
    }
    // Anything else (a port in use, a bug) must not exit 1, which CI pipelines read as "would deny".
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.badInput;
  }
}

process.exitCode = await main(process.argv.slice(2));
