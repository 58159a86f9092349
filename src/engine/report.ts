import type { Finding } from '../core/types.js';
import { isEnforcedViolation } from './evaluate.js';
import { exceptionStatuses, type ExceptionStatus } from './exceptions.js';
import type { Policy } from './policy.js';
import type { ExceptedRule } from './select.js';

/** A finding with the object it belongs to, as reports (CLI, audit) print it. */
export interface ReportFinding {
  file?: string;
  line?: number;
  kind: string;
  namespace: string;
  name: string;
  container: string;
  rule: string;
  type: Finding['type'];
  mode: Finding['mode'];
  message: string;
  fix: string;
  /** URL of the rule's reference page. */
  docs?: string;
}

export interface ReportSummary {
  objects: number;
  findings: number;
  /** Violations of validating rules in enforce mode: what the webhook denies. */
  denied: number;
  /** Violations of validating rules in audit mode: admitted with a warning. */
  warnings: number;
  /** Changes the mutating rules make (or would make, in audit mode). */
  mutations: number;
  /** Objects with at least one enforce-mode violation: what the webhook denies (`denied` counts findings). */
  deniedObjects: number;
  /** Objects admitted with warnings (audit-mode violations) and no denial. */
  warnedObjects: number;
  /** Of `mutations`, those in enforce mode: the mutating webhook makes them and `fix` writes them. */
  appliedMutations: number;
  /** Of `mutations`, those in audit mode: reported, not applied by the webhook nor by `fix`. */
  auditMutations: number;
  byRule: Record<string, number>;
}

export function toReportFinding(object: { kind: string; namespace: string; name: string }, finding: Finding): ReportFinding {
  return {
    kind: object.kind,
    namespace: object.namespace,
    name: object.name,
    container: finding.container ?? '',
    rule: finding.rule,
    type: finding.type,
    mode: finding.mode,
    message: finding.message,
    fix: finding.fix,
    ...(finding.docs === undefined ? {} : { docs: finding.docs }),
  };
}

/** Which object a finding belongs to (the same name may appear in two files, or twice in one). */
function objectKey(finding: ReportFinding): string {
  return [finding.file ?? '', finding.line ?? '', finding.kind, finding.namespace, finding.name].join('\u0000');
}

export function summarize(objects: number, findings: readonly ReportFinding[]): ReportSummary {
  const byRule: Record<string, number> = {};
  for (const finding of findings) byRule[finding.rule] = (byRule[finding.rule] ?? 0) + 1;
  const denied = findings.filter((finding) => isEnforcedViolation(finding));
  const warnings = findings.filter((finding) => finding.type === 'validating' && finding.mode === 'audit');
  const deniedObjects = new Set(denied.map(objectKey));
  const mutations = findings.filter((finding) => finding.type === 'mutating');
  const appliedMutations = mutations.filter((finding) => finding.mode === 'enforce').length;
  return {
    objects,
    findings: findings.length,
    denied: denied.length,
    warnings: warnings.length,
    mutations: mutations.length,
    deniedObjects: deniedObjects.size,
    warnedObjects: new Set(warnings.map(objectKey).filter((key) => !deniedObjects.has(key))).size,
    appliedMutations,
    auditMutations: mutations.length - appliedMutations,
    byRule,
  };
}

/** The result of scanning what already runs in a cluster (`audit`, the background scan, GET /reports). */
export interface AuditReport {
  /** ISO 8601 time the scan finished. */
  generatedAt: string;
  /** Where the scan ran, e.g. the API server URL or kubeconfig context. */
  cluster: string;
  /** The namespaces scanned that hold at least one pod-bearing object. */
  namespaces: string[];
  findings: ReportFinding[];
  summary: ReportSummary;
  /** The policy's exceptions, when it has any: which expired, and how many objects each one covered. */
  exceptions?: ExceptionReport[];
}

export interface ExceptionReport extends ExceptionStatus {
  /** Objects for which it lifted at least one rule. */
  objects: number;
}

/** Counts, per exception, the objects it lifted a rule for. */
export class ExceptionTally {
  readonly #objects = new Map<number, number>();

  add(excepted: readonly ExceptedRule[] | undefined): void {
    for (const index of new Set((excepted ?? []).map(({ exception }) => exception)))
      this.#objects.set(index, (this.#objects.get(index) ?? 0) + 1);
  }

  report(policy: Policy, now?: number): ExceptionReport[] | undefined {
    if (policy.exceptions.length === 0) return undefined;
    return exceptionStatuses(policy.exceptions, now).map((status) => ({ ...status, objects: this.#objects.get(status.index) ?? 0 }));
  }
}

/** One line per exception for people: what it lifts, why, until when, and that an expired one no longer applies. */
export function describeException(exception: ExceptionReport): string {
  const what = `exception #${exception.index + 1} (${exception.rules.join(', ')})${exception.reason === undefined ? '' : `: ${exception.reason}`}`;
  if (exception.expired) return `${what}: expired ${exception.expires}, no longer applied`;
  return `${what}: ${exception.objects} object(s) excepted${exception.expires === undefined ? '' : `, until ${exception.expires}`}`;
}
