// Not built: pins the cert-manager release whose CRDs the local cluster serves (deploy/crds in the
// module), so that Certificates are checked against cert-manager's own schema.
module visio.numerique.gouv.fr/tools/cert-manager

go 1.26.0

require github.com/cert-manager/cert-manager v1.21.2
