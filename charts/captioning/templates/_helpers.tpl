{{/* What only the captioning chart needs; the shared helpers are in charts/visio-lib. */}}
{{- define "captioning.sttUrl" -}}
{{- if eq .Values.engine "kyutai" -}}
ws://{{ include "visio.name" . }}-stt.{{ .Release.Namespace }}.svc.cluster.local:{{ .Values.stt.port }}
{{- else -}}
ws://{{ include "visio.name" . }}-stt.{{ .Release.Namespace }}.svc.cluster.local:{{ .Values.stt.port }}/v1/realtime
{{- end -}}
{{- end -}}
