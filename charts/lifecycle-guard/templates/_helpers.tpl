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

{{/* What the webhooks intercept: the pod-bearing kinds, plus workloadKinds. Pods are mutated on CREATE only. Call with (list $ "Validating"|"Mutating"). */}}
{{- define "lifecycle-guard.webhookRules" -}}
{{- $root := index . 0 -}}
{{- $mutating := eq (index . 1) "Mutating" -}}
rules:
  {{- if $mutating }}
  - apiGroups: [""]
    apiVersions: [v1]
    operations: [CREATE]
    resources: [pods]
    scope: Namespaced
  {{- end }}
  - apiGroups: [""]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [{{ if not $mutating }}pods, {{ end }}replicationcontrollers]
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
  # Argo Rollouts and OpenShift (a rule for an API the cluster does not serve is accepted and never matches).
  - apiGroups: [argoproj.io]
    apiVersions: ["*"]
    operations: [CREATE, UPDATE]
    resources: [rollouts]
    scope: Namespaced
  - apiGroups: [apps.openshift.io]
    apiVersions: ["*"]
    operations: [CREATE, UPDATE]
    resources: [deploymentconfigs]
    scope: Namespaced
  {{- range $root.Values.workloadKinds }}
  - apiGroups: [{{ .group }}]
    apiVersions: ["*"]
    operations: [CREATE, UPDATE]
    resources: [{{ .resource }}]
    scope: Namespaced
  {{- end }}
{{- end -}}

{{/* The policy of the chart's ConfigMap: policy.inline with the values the chart keeps in line with its other objects. */}}
{{- define "lifecycle-guard.policy" -}}
{{- $policy := deepCopy (.Values.policy.inline | default dict) -}}
{{- $_ := set $policy "exclude" (dict "namespaces" (include "lifecycle-guard.excludedNamespaces" . | fromJsonArray)) -}}
{{- $scan := get $policy "scan" | default dict -}}
{{- $_ := set $scan "reportFormat" .Values.reportFormat -}}
{{- $_ := set $policy "scan" $scan -}}
{{- with .Values.workloadKinds -}}
{{- $_ := set $policy "workloadKinds" . -}}
{{- end -}}
{{- if .Values.imageInspection.readPullSecrets -}}
{{- $rules := get $policy "rules" | default dict -}}
{{- $rule := get $rules "no-shell-entrypoint" | default dict -}}
{{- $images := get $rule "images" | default dict -}}
{{- $_ := set $images "pullSecrets" true -}}
{{- $_ := set $rule "images" $images -}}
{{- $_ := set $rules "no-shell-entrypoint" $rule -}}
{{- $_ := set $policy "rules" $rules -}}
{{- end -}}
{{- toYaml $policy -}}
{{- end -}}

{{- define "lifecycle-guard.validate" -}}
{{- if not (has .Values.certificates.mode (list "self-managed" "cert-manager")) -}}
{{- fail (printf "certificates.mode must be self-managed or cert-manager, not %q" .Values.certificates.mode) -}}
{{- end -}}
{{- if and .Values.scanOnly (eq .Values.certificates.mode "cert-manager") -}}
{{- fail "scanOnly has no webhook and needs no certificate: leave certificates.mode at self-managed" -}}
{{- end -}}
{{- if or (lt (int .Values.metrics.port) 1) (gt (int .Values.metrics.port) 65535) (eq (int .Values.metrics.port) 8443) -}}
{{- fail (printf "metrics.port must be a port from 1 to 65535 other than the webhook's 8443, not %v" .Values.metrics.port) -}}
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
{{- if hasKey . "workloadKinds" -}}
{{- fail "policy.inline: set workloadKinds through the value workloadKinds (the chart adds their webhook rules and RBAC)" -}}
{{- end -}}
{{- $pullSecrets := dig "rules" "no-shell-entrypoint" "images" "pullSecrets" nil . -}}
{{- if and (not (kindIs "invalid" $pullSecrets)) (ne $pullSecrets $.Values.imageInspection.readPullSecrets) -}}
{{- fail "policy.inline: set rules.no-shell-entrypoint.images.pullSecrets through imageInspection.readPullSecrets (the chart grants the get on Secrets it needs)" -}}
{{- end -}}
{{- end -}}
{{- range $index, $kind := .Values.workloadKinds -}}
{{- range $field := list "kind" "group" "version" "resource" "podSpecPath" -}}
{{- if not (get $kind $field) -}}
{{- fail (printf "workloadKinds[%d].%s is missing (see docs/workload-kinds.md)" $index $field) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
