{{/* Object names start with the chart's name, whatever the release is called: other services rely on them. */}}
{{- define "visio.name" -}}
{{ .Chart.Name }}
{{- end -}}

{{- define "visio.labels" -}}
app.kubernetes.io/name: {{ .name | default .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: visio
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "visio.selectorLabels" -}}
{{- if .selectByName }}
app.kubernetes.io/name: {{ .name | default .root.Chart.Name }}
{{- end }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
