{{- define "captioning.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: visio
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "captioning.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "captioning.zoneSpread" -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "captioning.selector" . | nindent 8 }}
{{- end -}}

{{/* Pod Security "restricted" for every container of the chart. */}}
{{- define "captioning.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "captioning.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "captioning.sttUrl" -}}
{{- if eq .Values.engine "kyutai" -}}
ws://{{ .Release.Name }}-stt.{{ .Release.Namespace }}.svc.cluster.local:{{ .Values.stt.port }}
{{- else -}}
ws://{{ .Release.Name }}-stt.{{ .Release.Namespace }}.svc.cluster.local:{{ .Values.stt.port }}/v1/realtime
{{- end -}}
{{- end -}}
