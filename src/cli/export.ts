import { stringify } from 'yaml';
import { DEFAULT_EXPORT_VERSION, exportAdmissionPolicies, ExportError, type KubeVersion } from '../export/admission-policies.js';
import { InputError } from './input-error.js';
import { loadPolicyFile } from './policy-file.js';

export interface ExportOptions {
  policy?: string;
  kubeVersion?: { version: KubeVersion };
  output: 'yaml' | 'json';
}

/** Writes the admission policies to stdout and what they do differently from the webhook to stderr. */
export function runExport(
  options: ExportOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): void {
  const policy = loadPolicyFile(options.policy);
  let exported;
  try {
    exported = exportAdmissionPolicies(policy, options.kubeVersion?.version ?? DEFAULT_EXPORT_VERSION);
  } catch (error) {
    if (error instanceof ExportError) throw new InputError(error.message);
    throw error;
  }
  out.write(
    options.output === 'json'
      ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: exported.objects }, null, 2)}\n`
      : exported.objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n'),
  );
  err.write(`Differences from the webhook (docs/admission-policies.md):\n${exported.differences.map((line) => `- ${line}\n`).join('')}`);
}
