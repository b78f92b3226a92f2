"""The offline tables under `data/`: top-level domains, provider domains, network operators.

Loaded once per process, on first use.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

# EU member states and the other EEA states (GDPR applies there too): the same list stacks are placed by.
from common.regions import EU_EEA

__all__ = ["EU_EEA", "Operator"]


@dataclass(frozen=True)
class Operator:
    name: str
    jurisdiction: str
    # Where the service runs when the name fixes it: ISO country, "EU", "world", or "" (unknown).
    location: str = ""
    asn: str = ""
    suffix: str = ""
    note: str = ""


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath("data").joinpath(name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


@cache
def tlds() -> frozenset[str]:
    text = resources.files(__package__).joinpath("data").joinpath("tlds.txt").read_text(encoding="ascii")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


@cache
def provider_domains() -> dict[str, Operator]:
    return {
        row["suffix"]: Operator(row["operator"], row["jurisdiction"], row["location"], "", row["suffix"], row["note"])
        for row in _rows("domains.csv")
    }


@cache
def network_operators() -> dict[str, Operator]:
    rows = _rows("operators.csv")
    return {row["as_name"]: Operator(row["operator"], row["jurisdiction"], "", row["asn"]) for row in rows}


def suffix_match(host: str, suffixes: dict[str, Operator]) -> Operator | None:
    """The entry for the longest suffix of `host` on a label boundary (never a substring)."""
    labels = host.split(".")
    for i in range(len(labels)):
        found = suffixes.get(".".join(labels[i:]))
        if found is not None:
            return found
    return None


def under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def is_public_name(host: str) -> bool:
    """True when the last label is a delegated TLD: anything else only resolves inside the cluster."""
    return host.rsplit(".", 1)[-1] in tlds()
