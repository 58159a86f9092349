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

export function summarize(objects: number, findings: readonly ReportFinding[]): ReportSummary {
  const byRule: Record<string, number> = {};
  for (const finding of findings) byRule[finding.rule] = (byRule[finding.rule] ?? 0) + 1;
  return {
    objects,
    findings: findings.length,
    denied: findings.filter((finding) => isEnforcedViolation(finding)).length,
    warnings: findings.filter((finding) => finding.type === 'validating' && finding.mode === 'audit').length,
    mutations: findings.filter((finding) => finding.type === 'mutating').length,
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
