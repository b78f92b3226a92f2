"""Hosting providers the platform targets and the regions each offers, with the country of each.

Only providers under EU jurisdiction appear here; a region outside the EU/EEA is listed so that it
can be refused by name rather than reported as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Provider = Literal["ovhcloud", "scaleway", "outscale", "on-premises"]

# ISO 3166 codes of EU member states plus the EEA (Iceland, Liechtenstein, Norway).
EU_EEA = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split()
)


@dataclass(frozen=True)
class Region:
    name: str
    country: str
    zones: tuple[str, ...]

    @property
    def in_eu(self) -> bool:
        return self.country in EU_EEA


def _r(name: str, country: str, *zones: str) -> Region:
    return Region(name, country, zones or (name,))


REGIONS: dict[str, dict[str, Region]] = {
    "ovhcloud": {
        r.name: r
        for r in (
            _r("eu-west-par", "FR", "eu-west-par-a", "eu-west-par-b", "eu-west-par-c"),
            _r("GRA7", "FR"),
            _r("GRA9", "FR"),
            _r("GRA11", "FR"),
            _r("SBG5", "FR"),
            _r("RBX-A", "FR"),
            _r("DE1", "DE"),
            _r("WAW1", "PL"),
            _r("UK1", "GB"),
            _r("BHS5", "CA"),
            _r("US-EAST-VA-1", "US"),
        )
    },
    "scaleway": {
        r.name: r
        for r in (
            _r("fr-par", "FR", "fr-par-1", "fr-par-2", "fr-par-3"),
            _r("nl-ams", "NL", "nl-ams-1", "nl-ams-2", "nl-ams-3"),
            _r("pl-waw", "PL", "pl-waw-1", "pl-waw-2", "pl-waw-3"),
        )
    },
    "outscale": {
        r.name: r
        for r in (
            _r("eu-west-2", "FR", "eu-west-2a", "eu-west-2b", "eu-west-2c"),
            _r("cloudgouv-eu-west-1", "FR", "cloudgouv-eu-west-1a", "cloudgouv-eu-west-1b",
               "cloudgouv-eu-west-1c"),
            _r("us-east-2", "US", "us-east-2a", "us-east-2b"),
            _r("us-west-1", "US", "us-west-1a", "us-west-1b"),
            _r("ap-northeast-1", "JP", "ap-northeast-1a", "ap-northeast-1d"),
        )
    },
}

# Kubernetes minor versions whose OpenAPI schema the platform validates against.
SUPPORTED_KUBERNETES = tuple(f"1.{m}" for m in range(25, 38))


def region_of(provider: str, name: str) -> Region | None:
    return REGIONS.get(provider, {}).get(name)
