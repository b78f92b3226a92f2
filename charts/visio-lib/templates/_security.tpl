{{/* Pod-level Pod Security "restricted" settings for a numeric non-root user. */}}
{{- define "visio.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "visio.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  {{- include "visio.podSecurityContext" . | nindent 2 }}
{{- end -}}

{{/* Argument: whether the root filesystem can be read-only (Keycloak's build step writes to it). */}}
{{- define "visio.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: {{ . }}
  runAsNonRoot: true
  capabilities:
    drop: [ALL]
{{- end -}}
