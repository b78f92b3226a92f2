"""tls-required in CEL, for Ingress: TLS is terminated for every host served. The rule's other parts
(TURN offered to clients, OIDC URLs in env vars and embedded configurations) run in the webhook."""

from __future__ import annotations

from policies.engine.cel import CelCheck, CelValidation
from policies.engine.config import PolicyConfig

_TLS = "object.?spec.?tls.orValue([])"
# A TLS host covers the rule's host exactly, or as a wildcard one label deep.
_HOST, _TLS_HOST = "r.host.lowerAscii()", "p.lowerAscii()"
_COVERED = (
    _TLS + f".exists(t, t.?hosts.orValue([]).exists(p, {_TLS_HOST} == {_HOST} || ({_TLS_HOST}.startsWith('*.')"
    f" && {_HOST}.contains('.') && {_HOST}.substring({_HOST}.indexOf('.') + 1) == {_TLS_HOST}.substring(2))))"
)


def cel(config: PolicyConfig) -> CelCheck:
    return CelCheck(
        kinds=("Ingress",),
        variables=(("uncovered", "object.?spec.?rules.orValue([]).filter(r, !has(r.host) || !(" + _COVERED + "))"),),
        validations=(
            CelValidation(f"size({_TLS}) > 0", "'tls-required: spec.tls: Ingress serves plain HTTP: no spec.tls'"),
            CelValidation(
                f"size({_TLS}) == 0 || size(variables.uncovered) == 0",
                "'tls-required: spec.rules: ' + variables.uncovered.map(r, has(r.host) ? 'host ' + r.host + "
                "' is not covered by spec.tls' : 'a rule without host answers any name').join('; ')",
            ),
        ),
        complete=False,
    )
