"""Entry point Pulumi runs (`python -m pulumi.policy <engine> policies`): serve the pack over gRPC.

Constructing the PolicyPack blocks forever, so nothing else lives here; see policies/pack.py.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import build_policies, initial_config

_policies = build_policies()

PolicyPack(
    name="visio-sovereignty",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=_policies,
    initial_config=initial_config(_policies),
)
