{{/* Object names are fixed by the chart name, not the release name: other services rely on them. */}}
{{- define "identity.name" -}}
{{ .Chart.Name }}
{{- end }}

{{- define "identity.selectorLabels" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ $ctx.Chart.Name }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "identity.labels" -}}
{{- $ctx := index . 0 -}}
{{ include "identity.selectorLabels" . }}
app.kubernetes.io/part-of: visio
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version }}
{{- end }}

{{/* An image reference, refused without a digest when the stack pins images. */}}
{{- define "identity.image" -}}
{{- $ctx := index . 0 -}}
{{- $ref := index . 1 -}}
{{- if and $ctx.Values.requireDigests (not (contains "@sha256:" $ref)) -}}
{{- fail (printf "image %s: requireDigests is set, pin it by digest" $ref) -}}
{{- end -}}
{{ $ref }}
{{- end }}

{{/* Pod-level Pod Security "restricted" settings for a numeric non-root user. */}}
{{- define "identity.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ . }}
  runAsGroup: {{ . }}
  fsGroup: {{ . }}
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{/* Argument: whether the root filesystem can be read-only (see keycloak.yaml for the exception). */}}
{{- define "identity.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: {{ . }}
  runAsNonRoot: true
  capabilities:
    drop: [ALL]
{{- end }}

{{/*
Spread over zones (strictly when there are several) and nodes; optionally keep pods inside the
stack's declared zones. Arguments: context, component, whether the workload is a Deployment.
*/}}
{{- define "identity.scheduling" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
{{- $zones := $ctx.Values.topology.zones -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: {{ if gt (len $zones) 1 }}DoNotSchedule{{ else }}ScheduleAnyway{{ end }}
    labelSelector:
      matchLabels:
        {{- include "identity.selectorLabels" (list $ctx $component) | nindent 8 }}
    {{- if index . 2 }}
    matchLabelKeys: [pod-template-hash]
    {{- end }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "identity.selectorLabels" (list $ctx $component) | nindent 8 }}
{{- if $ctx.Values.topology.pinZones }}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - key: topology.kubernetes.io/zone
              operator: In
              values: {{ toJson $zones }}
{{- end }}
{{- end }}

{{- define "identity.pdb" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "identity.name" $ctx }}-{{ $component }}
  labels:
    {{- include "identity.labels" (list $ctx $component) | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "identity.selectorLabels" (list $ctx $component) | nindent 6 }}
{{- end }}

{{- define "identity.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "identity.discoveryService" -}}
{{ include "identity.name" . }}-keycloak-discovery
{{- end }}

{{/* JVM properties of the JGroups transport (Keycloak reads them from JAVA_OPTS_APPEND). */}}
{{- define "identity.jgroupsOpts" -}}
{{- $cache := .Values.keycloak.cache -}}
{{- $opts := list "-Djgroups.bind.address=$(POD_IP)" (printf "-Djgroups.bind.port=%d" (int $cache.port)) (printf "-Djgroups.fd.port-offset=%d" (int $cache.failureDetectionOffset)) -}}
{{- if eq $cache.stack "kubernetes" -}}
{{- $opts = append $opts (printf "-Djgroups.dns.query=%s.%s.svc.cluster.local" (include "identity.discoveryService" .) .Release.Namespace) -}}
{{- end -}}
{{ join " " $opts }}
{{- end }}
