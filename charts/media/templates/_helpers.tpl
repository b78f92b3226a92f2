{{/* What only the media chart needs; the shared helpers are in charts/visio-lib. */}}

{{/* Scheduling on the dedicated media pool, one pod of a component per node, spread over zones. */}}
{{- define "media.placement" -}}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - key: {{ .root.Values.nodePool.labelKey }}
              operator: In
              values: [{{ .root.Values.nodePool.name | quote }}]
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "visio.selectorLabels" . | nindent 12 }}
tolerations:
  - key: {{ .root.Values.nodePool.labelKey }}
    operator: Equal
    value: {{ .root.Values.nodePool.name | quote }}
    effect: NoSchedule
topologySpreadConstraints:
  {{- include "visio.zoneSpread" . | nindent 2 }}
{{- end -}}

{{/* The parts of Pod Security "restricted" that host-network pods can keep. */}}
{{- define "media.hostNetworkPodSecurity" -}}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Checks JSON schema cannot express: ordered ranges and host ports that do not collide. */}}
{{- define "media.checks" -}}
{{- $v := .Values -}}
{{- range $name, $r := dict "livekit.udpPortRange" $v.livekit.udpPortRange "turn.relayPortRange" $v.turn.relayPortRange -}}
{{- if le (int $r.end) (int $r.start) -}}
{{- fail (printf "%s: end (%d) must be greater than start (%d)" $name (int $r.end) (int $r.start)) -}}
{{- end -}}
{{- end -}}
{{- $u := $v.livekit.udpPortRange -}}
{{- $t := $v.turn.relayPortRange -}}
{{- if and (le (int $u.start) (int $t.end)) (le (int $t.start) (int $u.end)) -}}
{{- fail "turn.relayPortRange: overlaps livekit.udpPortRange (both bind host ports on media nodes)" -}}
{{- end -}}
{{- $fixed := list (int $v.livekit.port) (int $v.livekit.tcpPort) (int $v.turn.port) (int $v.turn.tlsPort) -}}
{{- if ne (len $fixed) (len (uniq $fixed)) -}}
{{- fail "livekit.port, livekit.tcpPort, turn.port and turn.tlsPort: must be four different host ports" -}}
{{- end -}}
{{- range $p := $fixed -}}
{{- if or (and (ge $p (int $u.start)) (le $p (int $u.end))) (and (ge $p (int $t.start)) (le $p (int $t.end))) -}}
{{- fail (printf "port %d: falls inside a UDP/relay port range of the media nodes" $p) -}}
{{- end -}}
{{- end -}}
{{- if and $v.turn.certManager.enabled (not $v.turn.certManager.issuerName) -}}
{{- fail "turn.certManager.issuerName: required when turn.certManager.enabled" -}}
{{- end -}}
{{- end -}}
