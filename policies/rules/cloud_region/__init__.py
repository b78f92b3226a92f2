"""cloud-region: Pulumi cloud resources stay in allowed regions and, under secnumcloud, with EU operators.

Location is not jurisdiction: an AWS region in Paris still answers to US law, so under the secnumcloud
profile every resource (and provider) of a non-EU company's package is refused wherever it runs.
Packages that place nothing anywhere (kubernetes, random, tls, ...) are not judged. A resource without
a region input follows its provider's region, which is judged on the provider resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from common.regions import REGIONS
from policies.engine.model import Resource, Violation
from policies.engine.rule import Context, Rule

# Package -> operator and the jurisdiction it answers to.
NON_EU_PACKAGES: dict[str, str] = {
    **dict.fromkeys(("aws", "aws-native", "awsx", "eks"), "Amazon Web Services (US)"),
    **dict.fromkeys(("azure", "azure-native", "azuread", "azuredevops"), "Microsoft (US)"),
    **dict.fromkeys(("gcp", "google-native"), "Google (US)"),
    "cloudflare": "Cloudflare (US)", "digitalocean": "DigitalOcean (US)", "oci": "Oracle (US)",
    "alicloud": "Alibaba Cloud (CN)", "linode": "Akamai (US)", "akamai": "Akamai (US)",
    "fastly": "Fastly (US)", "vultr": "Vultr (US)", "ibm": "IBM (US)", "equinix": "Equinix (US)",
    "datadog": "Datadog (US)", "newrelic": "New Relic (US)", "auth0": "Okta (US)", "okta": "Okta (US)",
    "mongodbatlas": "MongoDB (US)", "snowflake": "Snowflake (US)", "confluentcloud": "Confluent (US)",
}
EU_PACKAGES: dict[str, str] = {
    "scaleway": "Scaleway (FR)", "ovh": "OVHcloud (FR)", "outscale": "3DS Outscale (FR)",
    "hcloud": "Hetzner (DE)", "ionoscloud": "IONOS (DE)", "upcloud": "UpCloud (FI)",
    "gandi": "Gandi (FR)", "aiven": "Aiven (FI)", "stackit": "STACKIT (DE)",
    # Runs wherever its endpoint is (OVHcloud Public Cloud, on-premises): judged by region only.
    "openstack": "OpenStack (operator of the endpoint)",
}
# Packages that create nothing at a location of their own, and the project's own components.
LOCAL_PACKAGES = frozenset({
    "kubernetes", "random", "tls", "command", "pulumi", "std", "time", "docker", "docker-build",
    "vault", "keycloak", "postgresql", "mysql", "rabbitmq", "minio", "local", "null", "archive",
    "external", "http", "visio",
})
REGION_INPUTS = ("region", "location", "zone", "regionName", "subregionName", "availabilityZone")

_ZONE_SUFFIX = re.compile(r"-?[a-z0-9]|-[0-9]{1,2}", re.IGNORECASE)
_ZONE_REGION = {
    zone.lower(): region.name.lower()
    for regions in REGIONS.values() for region in regions.values() for zone in region.zones
}


def package_of(pulumi_type: str) -> str:
    """`aws:s3/bucket:Bucket` -> aws; `pulumi:providers:aws` -> aws."""
    parts = pulumi_type.split(":")
    if len(parts) == 3 and parts[0] == "pulumi" and parts[1] == "providers":
        return parts[2]
    return parts[0]


def region_allowed(value: str, allowed: frozenset[str]) -> bool:
    v = value.lower()
    if v in allowed or _ZONE_REGION.get(v) in allowed:
        return True
    return any(v.startswith(a) and _ZONE_SUFFIX.fullmatch(v[len(a):]) for a in allowed)


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    if resource.pulumi_type is None:
        return
    package = package_of(resource.pulumi_type)
    if package in LOCAL_PACKAGES or package.startswith("kubernetes-"):
        return
    strict = ctx.config.profile == "secnumcloud"
    evidence = {"type": resource.pulumi_type, "package": package}
    foreign = NON_EU_PACKAGES.get(package)
    inputs = [(k, resource.body[k]) for k in REGION_INPUTS if resource.body.get(k) is not None]
    if strict and foreign is not None:
        yield Violation("type", f"{package} resources are operated by {foreign}, outside EU jurisdiction "
                        "wherever they are located", {**evidence, "operator": foreign})
    elif strict and package not in EU_PACKAGES and inputs:
        yield Violation("type", f"{package} is not a known EU-operated provider; its location cannot be "
                        "judged for jurisdiction", evidence)
    allowed = frozenset(r.lower() for r in ctx.config.allowedRegions)
    for key, value in inputs:
        if not isinstance(value, str):
            yield Violation(key, f"{key} is not known at evaluation time; the location cannot be verified",
                            evidence)
        elif not region_allowed(value, allowed):
            yield Violation(key, f"{key} {value!r} is outside the allowed regions",
                            {**evidence, "region": value})


RULE = Rule(
    judges=("pulumi",),
    id="cloud-region",
    description="Cloud resources stay in allowed regions and, under secnumcloud, with EU operators",
    check=check,
    title="Cloud region and operator",
    severity="critical",
    help="Create the resource in an allowed region, with a provider under EU/EEA law when the profile is secnumcloud.",
)
