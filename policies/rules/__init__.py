"""Every rule the engine runs, in report order. One module per rule, fixtures beside it."""

from __future__ import annotations

from policies.engine.rule import Rule
from policies.rules.cloud_region import RULE as CLOUD_REGION
from policies.rules.egress_policy import RULE as EGRESS_POLICY
from policies.rules.endpoint_sovereignty import RULE as ENDPOINT_SOVEREIGNTY  # judged by policies.sovereignty
from policies.rules.iac_state import RULE as IAC_STATE
from policies.rules.image_digest import RULE as IMAGE_DIGEST
from policies.rules.image_registry import RULE as IMAGE_REGISTRY
from policies.rules.implicit_endpoint import RULE as IMPLICIT_ENDPOINT
from policies.rules.node_region import RULE as NODE_REGION
from policies.rules.opaque_data import RULE as OPAQUE_DATA
from policies.rules.plaintext_secret import RULE as PLAINTEXT_SECRET
from policies.rules.pod_security import RULE as POD_SECURITY
from policies.rules.tls_required import RULE as TLS_REQUIRED

ALL_RULES: tuple[Rule, ...] = (
    IMAGE_REGISTRY,
    IMAGE_DIGEST,
    ENDPOINT_SOVEREIGNTY,
    OPAQUE_DATA,
    IMPLICIT_ENDPOINT,
    NODE_REGION,
    CLOUD_REGION,
    IAC_STATE,
    EGRESS_POLICY,
    PLAINTEXT_SECRET,
    TLS_REQUIRED,
    POD_SECURITY,
)
