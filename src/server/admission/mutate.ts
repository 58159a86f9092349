import type { ClusterInfo, Finding } from '../../core/types.js';
import { mutateObject } from '../../engine/mutate.js';
import type { Policy } from '../../engine/policy.js';
import { auditAnnotationsFor, ruleFailureDecision, warningsFor, type Decision, type DecisionInputs } from './respond.js';
import type { AdmissionRequest } from './review.js';

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
  if (mutation.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(mutation.patch)).toString('base64');
  }
  if (audited.length > 0) {
    response.warnings = warningsFor(audited, () => 'audit mode, not applied');
    response.auditAnnotations = auditAnnotationsFor(audited);
  }
  return { verdict: mutation.patch.length > 0 ? 'mutated' : audited.length > 0 ? 'warned' : 'allowed', findings, response };
}
