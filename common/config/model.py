"""The typed configuration of one ministry stack (the `visio:` namespace of a stack file).

Field names are the keys `pulumi config set --path visio:...` writes, so the CLI and the Pulumi
program validate the same document.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from common.config.secure import SecureValue
from common.regions import EU_EEA, REGIONS, SUPPORTED_KUBERNETES, Provider, region_of

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _fqdn(value: str) -> str:
    name = value.rstrip(".") if value.endswith(".") else value
    labels = name.split(".")
    if (
        name != name.lower()
        or len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(f"{value!r} is not a valid lower-case fully qualified domain name")
    return name


def _https_url(value: str) -> str:
    m = re.match(r"^https://([^/:@\\\s]+)(:\d{1,5})?(/[^\s\\]*)?$", value)
    if not m:
        raise ValueError(f"{value!r} is not an https:// URL without credentials")
    _fqdn(m.group(1))
    return value


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} must be lower-case letters, digits and dashes (3-32 chars)")
    return value


Fqdn = Annotated[StrictStr, AfterValidator(_fqdn)]
HttpsUrl = Annotated[StrictStr, AfterValidator(_https_url)]
Slug = Annotated[StrictStr, AfterValidator(_slug)]
Port = Annotated[StrictInt, Field(ge=1, le=65535)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)


class PortRange(Strict):
    start: Port
    end: Port

    @model_validator(mode="after")
    def _ordered(self) -> PortRange:
        if self.end <= self.start:
            raise ValueError("end: must be greater than start")
        return self

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def overlaps(self, other: PortRange) -> bool:
        return self.start <= other.end and other.start <= self.end


class Cluster(Strict):
    provider: Provider
    region: StrictStr
    zones: list[StrictStr] = Field(min_length=1)
    kubernetesVersion: StrictStr
    apiServer: HttpsUrl | None = None
    # Country of an on-premises data centre (providers' regions carry their own).
    country: StrictStr | None = None
    ingressClass: StrictStr = "nginx"
    # Namespace of the ingress controller, the only source allowed to reach the public services.
    ingressNamespace: Slug = "ingress-nginx"
    systemNodePool: Slug = "system"

    @model_validator(mode="after")
    def _placement(self) -> Cluster:
        if self.kubernetesVersion not in SUPPORTED_KUBERNETES:
            raise ValueError(
                f"kubernetesVersion: {self.kubernetesVersion!r} is not supported "
                f"(one of {SUPPORTED_KUBERNETES[0]}..{SUPPORTED_KUBERNETES[-1]})"
            )
        if self.provider == "on-premises":
            if not _SLUG.match(self.region):
                raise ValueError(f"region: {self.region!r} must be a lower-case data-centre name")
            if self.country is None:
                raise ValueError("country: required for on-premises clusters (ISO 3166 code)")
            if self.country not in EU_EEA:
                raise ValueError(f"country: {self.country!r} is not in the EU/EEA")
            return self
        if self.country is not None:
            raise ValueError("country: only for on-premises clusters (a provider region has its own)")
        region = region_of(self.provider, self.region)
        if region is None:
            offered = ", ".join(sorted(REGIONS[self.provider]))
            raise ValueError(f"region: {self.region!r} is not offered by {self.provider} (offered: {offered})")
        if not region.in_eu:
            raise ValueError(f"region: {self.provider} {self.region} is in {region.country}, outside the EU/EEA")
        for i, zone in enumerate(self.zones):
            if zone not in region.zones:
                raise ValueError(
                    f"zones[{i}]: {zone!r} is not a zone of {self.provider} {self.region} "
                    f"({', '.join(region.zones)})"
                )
        return self

    @property
    def country_code(self) -> str:
        if self.country is not None:
            return self.country
        region = region_of(self.provider, self.region)
        assert region is not None  # checked by the validator
        return region.country


class Domains(Strict):
    web: Fqdn
    identity: Fqdn
    # LiveKit signalling (WebSocket) endpoint the browsers connect to.
    media: Fqdn


class Registry(Strict):
    # Host (and optional path prefix) of the stack's sovereign mirror, e.g. registry.interieur.gouv.fr/visio
    host: StrictStr
    # Image digests by image name (see common/images.py); required for every image in production.
    digests: dict[StrictStr, Annotated[StrictStr, Field(pattern=_DIGEST.pattern)]] = {}

    @model_validator(mode="after")
    def _host(self) -> Registry:
        hostname, _, _prefix = self.host.partition("/")
        _fqdn(hostname.split(":")[0])
        return self

    @property
    def hostname(self) -> str:
        return self.host.partition("/")[0]


class ProConnect(Strict):
    issuer: HttpsUrl
    clientId: StrictStr = Field(min_length=1)
    clientSecret: SecureValue


class Identity(Strict):
    provider: Literal["proconnect", "keycloak"]
    realm: Slug = "visio"
    acrValues: StrictStr = "eidas1"
    proconnect: ProConnect | None = None

    @model_validator(mode="after")
    def _broker(self) -> Identity:
        if self.provider == "proconnect" and self.proconnect is None:
            raise ValueError("proconnect: required when provider is proconnect")
        if self.provider == "keycloak" and self.proconnect is not None:
            raise ValueError("proconnect: only allowed when provider is proconnect")
        return self


class Turn(Strict):
    domain: Fqdn
    tlsPort: Literal[443, 5349] = 443
    relayPortRange: PortRange = PortRange(start=40000, end=49999)


class Media(Strict):
    nodePool: Slug = "media"
    udpPortRange: PortRange = PortRange(start=50000, end=60000)
    turn: Turn

    @model_validator(mode="after")
    def _ports(self) -> Media:
        # SFU and TURN both use host networking: their UDP ranges must not collide on a node.
        if self.udpPortRange.overlaps(self.turn.relayPortRange):
            raise ValueError("turn.relayPortRange: overlaps udpPortRange (both bind host ports)")
        return self


class Captioning(Strict):
    enabled: StrictBool = False
    engine: Literal["kyutai", "whisper"] = "kyutai"
    model: StrictStr = "kyutai/stt-1b-en_fr"
    languages: list[Annotated[StrictStr, Field(pattern=r"^[a-z]{2}$")]] = ["fr"]
    gpuNodePool: Slug | None = None
    # The model weights, mirrored as an image `<registry.host>/models/<model>:<modelVersion>`.
    modelVersion: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] = "v1"
    modelDigest: Annotated[StrictStr, Field(pattern=_DIGEST.pattern)] | None = None

    @model_validator(mode="after")
    def _gpu(self) -> Captioning:
        if self.enabled and self.gpuNodePool is None:
            raise ValueError("gpuNodePool: required when captioning is enabled")
        return self


class Tls(Strict):
    # cert-manager ClusterIssuer for every public certificate (Ingress hosts and TURN over TLS), e.g.
    # one backed by the ministry's PKI. Without one, the Secrets named in the charts are provisioned
    # beforehand by the ministry.
    issuer: Slug | None = None


Share = Annotated[StrictFloat, Field(ge=0, le=1)]


class RoomMix(Strict):
    participants: StrictInt = Field(ge=2, le=1000)
    # Share of the peak participants who sit in rooms of this size.
    share: Annotated[StrictFloat, Field(gt=0, le=1)]


class Traffic(Strict):
    """What participants do at peak; defaults and their sources in components/traffic.py."""

    cameraShare: Share | None = None
    openMicrophonesPerRoom: StrictInt | None = Field(default=None, ge=0, le=1000)
    audioOnlyShare: Share | None = None
    layout: Literal["grid", "speaker"] | None = None
    screenShareShare: Share | None = None
    relayedShare: Share | None = None
    captionedShare: Share | None = None


class SfuNode(Strict):
    """One SFU node and what it carries; defaults and their sources in components/traffic.py."""

    cores: StrictInt | None = Field(default=None, ge=1, le=512)
    cpuTarget: Annotated[StrictFloat, Field(gt=0, le=1)] | None = None
    nicGbps: Annotated[StrictFloat, Field(gt=0, le=1000)] | None = None
    nicTarget: Annotated[StrictFloat, Field(gt=0, le=1)] | None = None
    # Calibration: RTP streams (received or forwarded) one core carries at 100%, from bench/.
    videoStreamsPerCore: Annotated[StrictFloat, Field(gt=0)] | None = None
    audioStreamsPerCore: Annotated[StrictFloat, Field(gt=0)] | None = None


class Prices(Strict):
    """Monthly price of one node of each pool, from the provider's price list; none are assumed."""

    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    source: StrictStr = Field(min_length=1)
    monthlyPerNode: dict[Slug, Annotated[StrictFloat, Field(ge=0)]] = Field(min_length=1)


class Capacity(Strict):
    peakConcurrentParticipants: StrictInt = Field(ge=1, le=1_000_000)
    # A typical room size, or a mix of room sizes (exactly one of the two).
    participantsPerRoom: StrictInt | None = Field(default=None, ge=2, le=1000)
    rooms: list[RoomMix] | None = Field(default=None, min_length=1)
    traffic: Traffic = Traffic()
    sfuNode: SfuNode = SfuNode()
    # Sizing figures; defaults documented in components/sizing.py with their sources.
    allocationsPerTurnReplica: StrictInt | None = Field(default=None, ge=1)
    streamsPerGpu: StrictInt | None = Field(default=None, ge=1)
    gpusPerNode: StrictInt | None = Field(default=None, ge=1, le=16)
    prices: Prices | None = None

    @model_validator(mode="after")
    def _room(self) -> Capacity:
        if (self.participantsPerRoom is None) == (self.rooms is None):
            raise ValueError("participantsPerRoom: give either participantsPerRoom or rooms, not both or neither")
        for i, room in enumerate(self.rooms or ()):
            if room.participants > self.peakConcurrentParticipants:
                raise ValueError(f"rooms.{i}.participants: cannot exceed peakConcurrentParticipants")
        if self.rooms is not None and abs(sum(r.share for r in self.rooms) - 1) > 1e-6:
            total = sum(r.share for r in self.rooms)
            raise ValueError(f"rooms: the shares add up to {total:g}, not 1")
        sizes = [r.participants for r in self.rooms or ()]
        if len(set(sizes)) != len(sizes):
            raise ValueError("rooms: each room size appears once")
        if self.participantsPerRoom is not None and self.participantsPerRoom > self.peakConcurrentParticipants:
            raise ValueError("participantsPerRoom: cannot exceed peakConcurrentParticipants")
        return self

    @property
    def room_mix(self) -> list[tuple[str, int, float]]:
        """(key path, room size, share of participants) for each room size."""
        if self.rooms is None:
            return [("capacity.participantsPerRoom", self.participantsPerRoom or 2, 1.0)]
        return [(f"capacity.rooms.{i}.participants", r.participants, r.share) for i, r in enumerate(self.rooms)]


class Policy(Strict):
    profile: Literal["secnumcloud", "eu-residency"] = "secnumcloud"
    exemptionsFile: StrictStr | None = None
    # Extra registries and domains beyond the stack's own registry and domains.
    allowedRegistries: list[StrictStr] = []
    trustedDomains: list[Fqdn] = []


class StackConfig(Strict):
    ministry: Slug
    environment: Literal["prod", "staging", "dev"]
    cluster: Cluster
    domains: Domains
    registry: Registry
    identity: Identity
    media: Media
    captioning: Captioning = Captioning()
    capacity: Capacity
    tls: Tls = Tls()
    policy: Policy = Policy()

    @property
    def production(self) -> bool:
        return self.environment == "prod"

    @model_validator(mode="after")
    def _cross(self) -> StackConfig:
        names = [self.domains.web, self.domains.identity, self.domains.media]
        for key in ("identity", "media"):
            if names.count(getattr(self.domains, key)) > 1:
                raise ValueError(f"domains.{key}: must differ from the other domains")
        if self.media.turn.domain in names:
            raise ValueError("media.turn.domain: must be its own name (TURN runs on host network)")
        _check_digests(self)
        prices = self.capacity.prices
        pools = {self.media.nodePool, self.captioning.gpuNodePool, self.cluster.systemNodePool}
        for pool in prices.monthlyPerNode if prices else ():
            if pool not in pools:
                raise ValueError(f"capacity.prices.monthlyPerNode.{pool}: not a node pool of this stack "
                                 f"(one of {', '.join(sorted(p for p in pools if p))})")
        return self


def field_names() -> dict[str, Any]:
    return dict(StackConfig.model_fields)


def _check_digests(config: StackConfig) -> None:
    from common.images import IMAGES

    for name in config.registry.digests:
        if name not in IMAGES:
            raise ValueError(f"registry.digests.{name}: unknown image (one of {', '.join(IMAGES)})")
    if config.production:
        for name in IMAGES:
            if name not in config.registry.digests:
                raise ValueError(f"registry.digests.{name}: production stacks pin every image by digest")
        if config.captioning.enabled and config.captioning.modelDigest is None:
            raise ValueError("captioning.modelDigest: production stacks pin the model image by digest")
