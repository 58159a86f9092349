import type { ClusterInfo, Finding } from '../../core/types.js';
import { mutateObject } from '../../engine/mutate.js';
import type { Policy } from '../../engine/policy.js';
import { auditAnnotationsFor, limitWarnings, ruleFailureDecision, warningsFor, type Decision, type DecisionInputs } from './respond.js';
import type { AdmissionRequest } from './review.js';

/**
 * The largest JSON Patch (as JSON, before base64) a /mutate answer carries: about 5,000 containers'
 * worth, where a real Pod's patch is a few hundred bytes. Beyond it the API server would decode and
 * apply megabytes while its client waits, for an object that would then exceed etcd's 1.5 MiB limit.
 */
export const MAX_PATCH_BYTES = 1024 * 1024;

/** Why a patch over MAX_PATCH_BYTES was not sent: a warning and an audit annotation say it. */
function withheld(changes: number, bytes: number): string {
  return `lifecycle-guard: ${changes} change(s) not applied: their JSON Patch is ${bytes} bytes, over the ${MAX_PATCH_BYTES}-byte limit; run \`lifecycle-guard fix\` on the manifest`;
}

/**
 * Pods are mutated when they are created (their spec is immutable afterwards); with the policy's
 * `mutateTemplates`, workload kinds are mutated on CREATE and UPDATE too.
 */
function isMutable(request: AdmissionRequest, policy: Policy): boolean {
  if (request.kind === 'Pod') return request.operation === 'CREATE';
  return policy.mutateTemplates && (request.operation === 'CREATE' || request.operation === 'UPDATE');
}

/** The mutating webhook's decision: a JSON Patch for enforce-mode rules, warnings for audit-mode ones. */
export function mutateRequest(
  request: AdmissionRequest,
  policy: Policy,
  cluster: ClusterInfo,
  { namespaceLabels }: DecisionInputs = {},
): Decision {
  const allowed: Decision = { verdict: 'allowed', findings: [], response: { uid: request.uid, allowed: true } };
  if (!isMutable(request, policy)) return allowed;
  // Audit mode: say what would change, change nothing.
  const mutation = mutateObject(request.object, policy, {
    cluster,
    audit: true,
    ...(namespaceLabels === undefined ? {} : { namespaceLabels }),
    ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
  });
  if (mutation.errors.length > 0) return ruleFailureDecision(request.uid, mutation.errors, policy.failureMode);
  const audited = mutation.audited ?? [];
  const findings: Finding[] = [...mutation.findings, ...audited];
  const response: Decision['response'] = { uid: request.uid, allowed: true };
  const patch = mutation.patch.length > 0 ? Buffer.from(JSON.stringify(mutation.patch)) : undefined;
  // Too large a patch is not sent: the object is admitted as it is, never refused for it.
  const withheldBytes = patch !== undefined && patch.length > MAX_PATCH_BYTES ? patch.length : undefined;
  if (patch !== undefined && withheldBytes === undefined) {
    response.patchType = 'JSONPatch';
    response.patch = patch.toString('base64');
  }
  const notice = withheldBytes === undefined ? undefined : withheld(mutation.findings.length, withheldBytes);
  if (audited.length > 0 || notice !== undefined) {
    const warnings = warningsFor(audited, () => 'audit mode, not applied');
    response.warnings = notice === undefined ? warnings : limitWarnings([notice, ...warnings]);
    response.auditAnnotations = { ...auditAnnotationsFor(audited), ...(notice === undefined ? {} : { 'patch-withheld': notice }) };
  }
  const verdict = response.patch !== undefined ? 'mutated' : response.warnings !== undefined ? 'warned' : 'allowed';
  return { verdict, findings, response, ...(withheldBytes === undefined ? {} : { withheldPatchBytes: withheldBytes }) };
}
