#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { PolicyError } from '../engine/policy-error.js';
import type { AuditOptions } from './audit.js';
import type { ExportOptions } from './export.js';
import { DEFAULT_MAX_FILE_BYTES } from './bounded-read.js';
import { EXIT } from './exit-codes.js';
import { InputError } from './input-error.js';
import type { CheckOptions, runFix } from './manifest-commands.js';
import {
  parseByteSize,
  parseDuration,
  parseKubeVersion,
  parseList,
  parseNamespacedName,
  parsePort,
  parsePositiveInteger,
  parseSeconds,
} from './options.js';
import type { ServeOptions } from './serve.js';

// Each command's modules are imported when it runs: the Kubernetes client, express and the
// certificate code take seconds to load, which `check` in a CI pipeline should not pay for, and
// `audit` keeps this thread free of what its worker thread loads (src/cli/audit-thread.ts).

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
      .argument('[paths...]', 'YAML or JSON manifests, Dockerfiles, directories (searched recursively), or - for stdin')
      .option(
        '--dockerfile <path>',
        'read this file as a Dockerfile, whatever its name (repeatable; - for stdin)',
        (path: string, paths: string[]) => [...paths, path],
        [],
      )
      .option('--policy <file>', 'policy file (default: the built-in policy)')
      .option(
        '--kube-version <version>',
        'target cluster version, e.g. 1.29 (before 1.30 the preStop delay is an exec `sleep`)',
        parseKubeVersion,
      )
      .addOption(
        new Option('--max-file-size <size>', 'refuse larger files and stdin (bytes, or with Ki/Mi/Gi)')
          .argParser(parseByteSize)
          .default(DEFAULT_MAX_FILE_BYTES, '8Mi'),
      );

  manifestCommand('check', 'check manifests as the webhook would; exit 1 if it would deny one')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--inspect-images', 'read the ENTRYPOINT/CMD of images whose containers set no `command` from their registries')
    .option('--registry-config <file>', 'docker config with registry credentials for --inspect-images (default: ~/.docker/config.json)')
    .action(async (paths: string[], options: CheckOptions) => {
      const { runCheck } = await import('./manifest-commands.js');
      process.exitCode = await runCheck(paths, options);
    });

  manifestCommand(
    'fix',
    'apply the mutating rules to manifests and rewrite shell-form ENTRYPOINT/CMD in Dockerfiles, keeping everything else as it was',
  )
    .option('-w, --write', 'write the changes back to the files instead of printing them')
    .action(async (paths: string[], options: Parameters<typeof runFix>[1]) => {
      const { runFix } = await import('./manifest-commands.js');
      process.exitCode = runFix(paths, options);
    });

  program
    .command('export')
    .description(
      'write the policy as ValidatingAdmissionPolicies and MutatingAdmissionPolicies, enforced by the API server without the webhook',
    )
    .option('--policy <file>', 'policy file (default: the built-in policy)')
    .option(
      '--kube-version <version>',
      'target cluster version: MutatingAdmissionPolicy v1 from 1.36, v1beta1 on 1.34-1.35 (default 1.36)',
      parseKubeVersion,
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(async (options: ExportOptions) => {
      const { runExport } = await import('./export.js');
      runExport(options);
    });

  program
    .command('explain')
    .description("print a rule's reference page: what triggers it, what is exempt, parameters, examples")
    .argument('<rule-id>', 'a rule id, e.g. no-shell-entrypoint')
    .action(async (ruleId: string) => {
      const { explainRule } = await import('./explain.js');
      process.stdout.write(explainRule(ruleId));
    });

  program
    .command('certs')
    .description('write a CA and a serving certificate (ca.crt, tls.crt, tls.key) for local use or bring-your-own TLS')
    .requiredOption('--out <dir>', 'directory to write to (created if missing)')
    .option(
      '--hosts <hosts>',
      'DNS names and IPs, comma-separated (default: localhost, 127.0.0.1, ::1 and the DNS names of the lifecycle-guard Service)',
      parseList,
    )
    .addOption(
      new Option('--validity <duration>', 'lifetime of the serving certificate, e.g. 90d or 1y (the CA lives twice as long)')
        .argParser(parseDuration)
        .default(parseDuration('365d'), '365d'),
    )
    .option('--force', 'replace the certificates already in --out (a new CA: whatever trusts the old one must be updated)')
    .action(async (options: { out: string; hosts?: string[]; validity: number; force?: boolean }) => {
      const [{ existingCertificateFiles, LOCAL_HOSTS, serviceHosts, writeCertificates }, { generateCertificates }] = await Promise.all([
        import('../tls/certificates.js'),
        import('../tls/generate.js'),
      ]);
      const existing = existingCertificateFiles(options.out);
      if (existing.length > 0 && !options.force) {
        throw new InputError(
          `${options.out} already holds ${existing.join(', ')}: not replacing them (a new CA is not trusted by what trusts the old one); use --force to replace them`,
        );
      }
      const hosts = options.hosts ?? [...LOCAL_HOSTS, ...serviceHosts('lifecycle-guard', 'lifecycle-guard')];
      const bundle = await generateCertificates({ hosts, validityDays: options.validity / 86_400_000 });
      writeCertificates(options.out, bundle);
      process.stderr.write(`wrote ${options.out}/ca.crt, tls.crt and tls.key (${hosts.join(', ')})\n`);
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
    .option('--registry-config <file>', 'docker config with registry credentials for image inspection (default: ~/.docker/config.json)')
    .action(async (options: AuditOptions) => {
      const { auditInWorker } = await import('./audit-thread.js');
      process.exitCode = (await auditInWorker(options)) ? EXIT.denied : EXIT.clean;
    });

  program
    .command('serve')
    .description(
      'run the admission webhook over HTTPS (POST /validate, /mutate; GET /healthz, /readyz) and metrics over HTTP (GET /metrics, /reports)',
    )
    .option('--port <port>', 'HTTPS port', parsePort, 8443)
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--metrics-port <port>', 'plain-HTTP port for /metrics and /reports (never served on the webhook port)', parsePort, 9090)
    .addOption(new Option('--tls-min-version <version>', 'lowest TLS version accepted').choices(['1.2', '1.3']).default('1.2'))
    .option('--max-connections <n>', 'connections the HTTPS port accepts at once; more are refused', parsePositiveInteger, 512)
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
    .option(
      '--shutdown-delay <duration>',
      'on SIGTERM, keep serving this long with /readyz failing (a bare number is seconds)',
      parseSeconds,
      5,
    )
    .option('--shutdown-timeout <duration>', 'then wait this long for in-flight requests (a bare number is seconds)', parseSeconds, 20)
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .option(
      '--scan-only',
      'no admission routes, no webhook certificates: only the background scan, its reports, health and metrics (beside `export`ed policies)',
    )
    .addOption(
      new Option('--request-timeout <duration>', 'close connections whose request has not arrived in full after this long (default 30)')
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

// Whatever escapes main (an error in a callback, a rejected promise nobody awaited) is still exit 2:
// 1 would read as "would deny" in a CI pipeline.
const crash = (error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(EXIT.badInput);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
process.exitCode = await main(process.argv.slice(2));
