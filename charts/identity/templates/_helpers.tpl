{{/* What only the identity chart needs; the shared helpers are in charts/visio-lib. */}}
{{- define "identity.discoveryService" -}}
{{ include "visio.name" . }}-keycloak-discovery
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
