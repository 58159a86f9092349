import type { ClusterInfo, Finding } from '../../core/types.js';
import { evaluateObject } from '../../engine/evaluate.js';
import { mutateObject } from '../../engine/mutate.js';
import type { Policy } from '../../engine/policy.js';
import { auditAnnotationsFor, ruleFailureDecision, warningsFor, type Decision } from './respond.js';
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
export function mutateRequest(request: AdmissionRequest, policy: Policy, cluster: ClusterInfo): Decision {
  const allowed: Decision = { verdict: 'allowed', findings: [], response: { uid: request.uid, allowed: true } };
  if (!isMutable(request, policy)) return allowed;
  const options = { ruleType: 'mutating' as const, cluster, ...(request.namespace === undefined ? {} : { namespace: request.namespace }) };

  const mutation = mutateObject(request.object, policy, options);
  if (mutation.errors.length > 0) return ruleFailureDecision(request.uid, mutation.errors, policy.failureMode);
  // Audit mode: say what would change, change nothing.
  const audited = evaluateObject(request.object, policy, { ...options, mode: 'audit' }).findings;
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
