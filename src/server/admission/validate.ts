import type { ClusterInfo, Finding } from '../../core/types.js';
import { evaluateObject, isEnforcedViolation } from '../../engine/evaluate.js';
import type { NamespaceLabels } from '../../engine/exceptions.js';
import type { Policy } from '../../engine/policy.js';
import { selectRules, type Selection } from '../../engine/select.js';
import { auditAnnotationsFor, denialMessage, ruleFailureDecision, warningsFor, type Decision, type DecisionInputs } from './respond.js';
import type { AdmissionRequest } from './review.js';

/** Operations that never carry a new object to judge. */
const ALWAYS_ALLOWED_OPERATIONS = new Set(['DELETE', 'CONNECT']);

function subjectOf(request: AdmissionRequest): string {
  const where = request.namespace === undefined ? request.name : `${request.namespace}/${request.name}`;
  return `${request.kind} ${where}`.trim();
}

/** The rules /validate applies to the request's object; selected once for the image lookup and the decision. */
export function validationSelection(request: AdmissionRequest, policy: Policy, namespaceLabels?: NamespaceLabels): Selection {
  return selectRules(request.object, policy, {
    ruleType: 'validating',
    ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
    ...(namespaceLabels === undefined ? {} : { namespaceLabels }),
  });
}

/**
 * The validating webhook's decision. Denies only what the request itself introduces: violations the
 * previous version already had (UPDATE) and violations in Pods that a controller created are
 * admitted with a warning, so existing workloads keep rolling and scaling while a policy rolls out.
 */
export function validateRequest(
  request: AdmissionRequest,
  policy: Policy,
  cluster: ClusterInfo,
  { namespaceLabels, images, selection }: DecisionInputs = {},
): Decision {
  const allowed: Decision = { verdict: 'allowed', findings: [], response: { uid: request.uid, allowed: true } };
  if (ALWAYS_ALLOWED_OPERATIONS.has(request.operation)) return allowed;

  const evaluation = evaluateObject(request.object, policy, {
    ruleType: 'validating',
    cluster,
    ...(namespaceLabels === undefined ? {} : { namespaceLabels }),
    ...(images === undefined ? {} : { images }),
    ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
    ...(request.operation === 'UPDATE' ? { oldObject: request.oldObject } : {}),
    selection: selection ?? validationSelection(request, policy, namespaceLabels),
  });
  if (evaluation.errors.length > 0) return ruleFailureDecision(request.uid, evaluation.errors, policy.failureMode);
  const { findings } = evaluation;
  if (findings.length === 0) return allowed;

  const owner = evaluation.workload?.controlledBy;
  const leniency = (finding: Finding): string | undefined => {
    if (!isEnforcedViolation(finding)) return undefined;
    if (finding.preexisting) return 'already present before this update, not denied';
    if (owner !== undefined) return `Pod created by ${owner.kind} ${owner.name}, not denied (fix the ${owner.kind})`;
    return undefined;
  };
  const denied: Finding[] = [];
  const warned: Finding[] = [];
  for (const finding of findings) (isEnforcedViolation(finding) && leniency(finding) === undefined ? denied : warned).push(finding);
  const warnings = warned.length === 0 ? {} : { warnings: warningsFor(warned, leniency) };
  const auditAnnotations = auditAnnotationsFor(findings);

  if (denied.length > 0) {
    return {
      verdict: 'denied',
      findings,
      response: {
        uid: request.uid,
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: denialMessage(subjectOf(request), denied) },
        ...warnings,
        ...(auditAnnotations ? { auditAnnotations } : {}),
      },
    };
  }
  return {
    verdict: 'warned',
    findings,
    response: { uid: request.uid, allowed: true, ...warnings, ...(auditAnnotations ? { auditAnnotations } : {}) },
  };
}
