{{/* What only the signalling chart needs; the shared helpers are in charts/visio-lib. */}}
{{- define "signalling.hpa" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
{{- $spec := index . 2 -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "visio.name" $ctx }}-{{ $component }}
  labels:
    {{- include "visio.labels" (dict "root" $ctx "component" $component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "visio.name" $ctx }}-{{ $component }}
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
{{- $name := include "visio.name" . -}}
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
