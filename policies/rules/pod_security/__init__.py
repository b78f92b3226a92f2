"""pod-security: every pod spec meets the Kubernetes Pod Security Standards "restricted" profile.

Every control of the upstream pod-security-admission checks, baseline and restricted, as they stand in
the Kubernetes version of the policy configuration (the stack's cluster; the latest when unset). Each
finding names its control and the level that requires it (`baseline / Sysctls: ...`).

No workload is special-cased: the SFU and TURN server need host networking, and that is recorded as an
exemption (with its justification, approver and expiry) in the stack's exemptions file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.engine.model import Resource, Violation
from policies.engine.podspec import containers_of, pod_templates
from policies.engine.rule import Context, Rule
from policies.rules.pod_security import container, pod
from policies.rules.pod_security.controls import parse_version
from policies.rules.pod_security.fields import mapping


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    version = parse_version(ctx.config.kubernetesVersion)
    for prefix, spec, metadata in pod_templates(resource):
        windows = mapping(spec, "os", prefix).get("name") == "windows"
        yield from pod.check(prefix, spec, metadata, version, windows)
        pod_ctx: Mapping[str, object] = mapping(spec, "securityContext", prefix)
        for path, item in containers_of(prefix, spec):
            yield from container.check(path, item, pod_ctx, version, windows)


RULE = Rule(
    id="pod-security",
    description="Pod specs meet the Pod Security Standards restricted profile (every baseline and restricted control)",
    check=check,
    title="Pod Security Standards",
    severity="high",
    help=(
        "Meet the control the finding names (baseline or restricted), or record an exemption with its "
        "justification, approver and expiry."
    ),
)
