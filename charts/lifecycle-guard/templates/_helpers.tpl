{{/* Name of every object: the release name, or <release>-lifecycle-guard when it does not say lifecycle-guard. */}}
{{- define "lifecycle-guard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lifecycle-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lifecycle-guard.labels" -}}
{{ include "lifecycle-guard.selectorLabels" . }}
app.kubernetes.io/part-of: lifecycle-guard
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lifecycle-guard.policyConfigMap" -}}
{{- .Values.policy.existingConfigMap | default (printf "%s-policy" (include "lifecycle-guard.fullname" .)) -}}
{{- end -}}

{{- define "lifecycle-guard.tlsSecret" -}}
{{- if eq .Values.certificates.mode "cert-manager" -}}
{{- printf "%s-serving" (include "lifecycle-guard.fullname" .) -}}
{{- else -}}
{{- printf "%s-tls" (include "lifecycle-guard.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* excludeNamespaces plus the release namespace, once each: the one list behind namespaceSelector and exclude.namespaces. */}}
{{- define "lifecycle-guard.excludedNamespaces" -}}
{{- append .Values.excludeNamespaces .Release.Namespace | uniq | toJson -}}
{{- end -}}

{{/* The webhooks' namespaceSelector, from the same list as the policy. */}}
{{- define "lifecycle-guard.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ include "lifecycle-guard.excludedNamespaces" . }}
{{- end -}}

{{/* What the webhooks intercept: the pod-bearing kinds. */}}
{{- define "lifecycle-guard.webhookRules" -}}
rules:
  - apiGroups: [""]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [pods, replicationcontrollers]
    scope: Namespaced
  - apiGroups: [apps]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [deployments, statefulsets, daemonsets, replicasets]
    scope: Namespaced
  - apiGroups: [batch]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [jobs, cronjobs]
    scope: Namespaced
{{- end -}}

{{- define "lifecycle-guard.validate" -}}
{{- if not (has .Values.certificates.mode (list "self-managed" "cert-manager")) -}}
{{- fail (printf "certificates.mode must be self-managed or cert-manager, not %q" .Values.certificates.mode) -}}
{{- end -}}
{{- if not (has .Values.reportFormat (list "PolicyReport" "OpenReports" "none")) -}}
{{- fail (printf "reportFormat must be PolicyReport, OpenReports or none, not %q" .Values.reportFormat) -}}
{{- end -}}
{{- if not (has .Values.webhook.failurePolicy (list "Ignore" "Fail")) -}}
{{- fail (printf "webhook.failurePolicy must be Ignore or Fail, not %q" .Values.webhook.failurePolicy) -}}
{{- end -}}
{{- if or (lt (int .Values.webhook.timeoutSeconds) 1) (gt (int .Values.webhook.timeoutSeconds) 30) -}}
{{- fail "webhook.timeoutSeconds must be between 1 and 30" -}}
{{- end -}}
{{- with .Values.policy.inline -}}
{{- if or (hasKey . "exclude") (and (hasKey . "scan") (hasKey .scan "reportFormat")) -}}
{{- fail "policy.inline: set exclude.namespaces through excludeNamespaces and scan.reportFormat through reportFormat (the chart keeps the webhooks in line with them)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
