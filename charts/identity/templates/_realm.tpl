{{/*
The realm imported at start. Secrets are Keycloak environment placeholders, resolved at import
from the container's environment (itself read from Secrets): no secret value is ever rendered.
*/}}
{{- define "identity.realm" -}}
{{- $r := .Values.realm -}}
{{- $web := printf "https://%s" $r.webDomain -}}
{{- $backend := dict
      "clientId" $r.backendClientId
      "name" "Visio"
      "enabled" true
      "protocol" "openid-connect"
      "publicClient" false
      "clientAuthenticatorType" "client-secret"
      "secret" "${VISIO_BACKEND_CLIENT_SECRET}"
      "standardFlowEnabled" true
      "implicitFlowEnabled" false
      "directAccessGrantsEnabled" false
      "serviceAccountsEnabled" false
      "frontchannelLogout" true
      "rootUrl" $web
      "redirectUris" (list (printf "%s/*" $web))
      "webOrigins" (list $web)
      "attributes" (dict
        "pkce.code.challenge.method" "S256"
        "post.logout.redirect.uris" (printf "%s/*" $web))
-}}
{{- $realm := dict
      "realm" $r.name
      "displayName" $r.displayName
      "enabled" true
      "sslRequired" "all"
      "registrationAllowed" false
      "resetPasswordAllowed" false
      "rememberMe" false
      "loginWithEmailAllowed" true
      "duplicateEmailsAllowed" false
      "editUsernameAllowed" false
      "bruteForceProtected" true
      "internationalizationEnabled" true
      "supportedLocales" (list "fr" "en")
      "defaultLocale" "fr"
      "clients" (list $backend)
-}}
{{- if $r.proconnect.enabled -}}
{{- $pc := $r.proconnect -}}
{{- $issuer := trimSuffix "/" $pc.issuer -}}
{{- /*
acr_values rides on the authorization URL itself (Keycloak appends its own parameters to it), so
the broker asks ProConnect for that level whatever the relying party sends.
*/ -}}
{{- $idp := dict
      "alias" "proconnect"
      "displayName" "ProConnect"
      "providerId" "oidc"
      "enabled" true
      "trustEmail" true
      "storeToken" false
      "linkOnly" false
      "firstBrokerLoginFlowAlias" "first broker login"
      "config" (dict
        "issuer" $issuer
        "authorizationUrl" (printf "%s/authorize?acr_values=%s" $issuer (urlquery $pc.acrValues))
        "tokenUrl" (printf "%s/token" $issuer)
        "userInfoUrl" (printf "%s/userinfo" $issuer)
        "jwksUrl" (printf "%s/jwks" $issuer)
        "logoutUrl" (printf "%s/session/end" $issuer)
        "useJwksUrl" "true"
        "validateSignature" "true"
        "clientId" $pc.clientId
        "clientSecret" "${PROCONNECT_CLIENT_SECRET}"
        "clientAuthMethod" "client_secret_post"
        "defaultScope" $pc.scopes
        "syncMode" $pc.syncMode)
-}}
{{- /* ProConnect names the family name `usual_name`. */ -}}
{{- $lastName := dict
      "name" "usual_name"
      "identityProviderAlias" "proconnect"
      "identityProviderMapper" "oidc-user-attribute-idp-mapper"
      "config" (dict "syncMode" "INHERIT" "claim" "usual_name" "user.attribute" "lastName")
-}}
{{- $_ := set $realm "identityProviders" (list $idp) -}}
{{- $_ := set $realm "identityProviderMappers" (list $lastName) -}}
{{- end -}}
{{- toPrettyJson $realm -}}
{{- end }}
