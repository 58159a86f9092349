import type { Finding } from '../core/types.js';
import { isEnforcedViolation } from './evaluate.js';

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
}
