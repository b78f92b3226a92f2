{{/* One spread constraint over zones; `strict` refuses to schedule rather than skew. */}}
{{- define "visio.zoneSpread" -}}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: {{ if .strict }}DoNotSchedule{{ else }}ScheduleAnyway{{ end }}
  labelSelector:
    matchLabels:
      {{- include "visio.selectorLabels" . | nindent 6 }}
  {{- if .deployment }}
  matchLabelKeys: [pod-template-hash]
  {{- end }}
{{- end -}}

{{/*
Spread over zones (strictly when there are several) and nodes; optionally keep pods inside the
stack's declared zones (`topology.zones`, `topology.pinZones` of the chart's values).
*/}}
{{- define "visio.scheduling" -}}
{{- $zones := .root.Values.topology.zones -}}
{{- $by := merge (dict "strict" (gt (len $zones) 1) "selectByName" true) . -}}
topologySpreadConstraints:
  {{- include "visio.zoneSpread" $by | nindent 2 }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "visio.selectorLabels" $by | nindent 8 }}
{{- if .root.Values.topology.pinZones }}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - key: topology.kubernetes.io/zone
              operator: In
              values: {{ toJson $zones }}
{{- end }}
{{- end -}}

{{/* One pod of the component may be down at a time (drains, node upgrades). */}}
{{- define "visio.pdb" -}}
{{- $by := merge (dict "selectByName" true) . -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "visio.name" .root }}-{{ .component }}
  labels:
    {{- include "visio.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "visio.selectorLabels" $by | nindent 6 }}
{{- end -}}

{{- define "visio.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}
