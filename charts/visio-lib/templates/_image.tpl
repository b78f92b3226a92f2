{{/* An image reference, refused without a digest when the stack pins images (production). */}}
{{- define "visio.image" -}}
{{- if and .root.Values.requireDigests (not (contains "@sha256:" .ref)) -}}
{{- fail (printf "image %s: requireDigests is set, pin it by digest" .ref) -}}
{{- end -}}
{{ .ref }}
{{- end -}}
