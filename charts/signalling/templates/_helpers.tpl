{{/* Object names are fixed by the chart name, not the release name: other services rely on them. */}}
{{- define "signalling.name" -}}
{{ .Chart.Name }}
{{- end }}

{{- define "signalling.selectorLabels" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ $ctx.Chart.Name }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "signalling.labels" -}}
{{- $ctx := index . 0 -}}
{{ include "signalling.selectorLabels" . }}
app.kubernetes.io/part-of: visio
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version }}
{{- end }}

{{/* An image reference, refused without a digest when the stack pins images. */}}
{{- define "signalling.image" -}}
{{- $ctx := index . 0 -}}
{{- $ref := index . 1 -}}
{{- if and $ctx.Values.requireDigests (not (contains "@sha256:" $ref)) -}}
{{- fail (printf "image %s: requireDigests is set, pin it by digest" $ref) -}}
{{- end -}}
{{ $ref }}
{{- end }}

{{/* Pod-level Pod Security "restricted" settings for a numeric non-root user. */}}
{{- define "signalling.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ . }}
  runAsGroup: {{ . }}
  fsGroup: {{ . }}
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{- define "signalling.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities:
    drop: [ALL]
{{- end }}

{{/*
Spread over zones (strictly when there are several) and nodes; optionally keep pods inside the
stack's declared zones. Arguments: context, component, whether the workload is a Deployment.
*/}}
{{- define "signalling.scheduling" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
{{- $zones := $ctx.Values.topology.zones -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: {{ if gt (len $zones) 1 }}DoNotSchedule{{ else }}ScheduleAnyway{{ end }}
    labelSelector:
      matchLabels:
        {{- include "signalling.selectorLabels" (list $ctx $component) | nindent 8 }}
    {{- if index . 2 }}
    matchLabelKeys: [pod-template-hash]
    {{- end }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "signalling.selectorLabels" (list $ctx $component) | nindent 8 }}
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

{{- define "signalling.pdb" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "signalling.name" $ctx }}-{{ $component }}
  labels:
    {{- include "signalling.labels" (list $ctx $component) | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "signalling.selectorLabels" (list $ctx $component) | nindent 6 }}
{{- end }}

{{- define "signalling.hpa" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
{{- $spec := index . 2 -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "signalling.name" $ctx }}-{{ $component }}
  labels:
    {{- include "signalling.labels" (list $ctx $component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "signalling.name" $ctx }}-{{ $component }}
  minReplicas: {{ $spec.replicas.min }}
  maxReplicas: {{ $spec.replicas.max }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $spec.targetCPUUtilization }}
{{- end }}

{{/* Environment of the Django backend, its Celery worker and its migration Job. */}}
{{- define "signalling.backendEnv" -}}
{{- $name := include "signalling.name" . -}}
{{- $issuer := trimSuffix "/" .Values.oidc.issuer -}}
{{- $oidc := printf "%s/protocol/openid-connect" $issuer -}}
{{- $web := printf "https://%s" .Values.domain -}}
- name: DJANGO_CONFIGURATION
  value: Production
- name: DJANGO_SETTINGS_MODULE
  value: meet.settings
- name: DJANGO_ALLOWED_HOSTS
  value: {{ .Values.domain | quote }}
- name: DJANGO_CSRF_TRUSTED_ORIGINS
  value: {{ $web | quote }}
- name: DJANGO_SECRET_KEY
  valueFrom:
    secretKeyRef: {name: signalling-django, key: secret-key}
- name: DB_HOST
  value: {{ $name }}-postgres
- name: DB_PORT
  value: "5432"
- name: DB_NAME
  value: {{ .Values.postgres.database | quote }}
- name: DB_USER
  value: {{ .Values.postgres.user | quote }}
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef: {name: signalling-postgres, key: password}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef: {name: redis-auth, key: password}
{{- /* $(VAR) is expanded by the kubelet: the password never appears in the manifest. */}}
- name: REDIS_URL
  value: "redis://default:$(REDIS_PASSWORD)@{{ $name }}-redis:6379/1"
- name: CELERY_ENABLED
  value: "True"
- name: CELERY_BROKER_URL
  value: "redis://default:$(REDIS_PASSWORD)@{{ $name }}-redis:6379/0"
- name: OIDC_OP_AUTHORIZATION_ENDPOINT
  value: {{ printf "%s/auth" $oidc | quote }}
- name: OIDC_OP_TOKEN_ENDPOINT
  value: {{ printf "%s/token" $oidc | quote }}
- name: OIDC_OP_USER_ENDPOINT
  value: {{ printf "%s/userinfo" $oidc | quote }}
- name: OIDC_OP_JWKS_ENDPOINT
  value: {{ printf "%s/certs" $oidc | quote }}
- name: OIDC_OP_LOGOUT_ENDPOINT
  value: {{ printf "%s/logout" $oidc | quote }}
- name: OIDC_RP_CLIENT_ID
  value: {{ .Values.oidc.clientId | quote }}
- name: OIDC_RP_CLIENT_SECRET
  valueFrom:
    secretKeyRef: {name: signalling-oidc, key: client-secret}
- name: OIDC_RP_SIGN_ALGO
  value: {{ .Values.oidc.signAlgorithm | quote }}
- name: OIDC_RP_SCOPES
  value: {{ .Values.oidc.scopes | quote }}
- name: OIDC_USE_PKCE
  value: "True"
- name: OIDC_AUTH_REQUEST_EXTRA_PARAMS
  value: {{ toJson .Values.oidc.authRequestExtraParams | quote }}
- name: OIDC_REDIRECT_ALLOWED_HOSTS
  value: {{ $web | quote }}
- name: LOGIN_REDIRECT_URL
  value: {{ $web | quote }}
- name: LOGIN_REDIRECT_URL_FAILURE
  value: {{ $web | quote }}
- name: LOGOUT_REDIRECT_URL
  value: {{ $web | quote }}
- name: LIVEKIT_API_URL
  value: {{ .Values.livekit.url | quote }}
- name: LIVEKIT_FORCE_WSS_PROTOCOL
  value: "True"
- name: LIVEKIT_API_KEY
  valueFrom:
    secretKeyRef: {name: livekit-api, key: key}
- name: LIVEKIT_API_SECRET
  valueFrom:
    secretKeyRef: {name: livekit-api, key: secret}
{{- /*
Upstream telemetry stays off: no DJANGO_SENTRY_DSN, empty analytics (PostHog) and support (Crisp)
widgets, no Brevo marketing sign-up. The schema offers no way to add other variables.
*/}}
- name: FRONTEND_ANALYTICS
  value: "{}"
- name: FRONTEND_SUPPORT
  value: "{}"
- name: SIGNUP_NEW_USER_TO_MARKETING_EMAIL
  value: "False"
- name: ALLOW_UNREGISTERED_ROOMS
  value: "False"
{{- end }}

{{- define "signalling.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}
