"""Where a public IP address is and which network announces it, from the GeoIP data geoip2fast ships."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from policies.sovereignty.tables import Operator, network_operators

DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"
_lock = threading.Lock()
_db: Any = None


@dataclass(frozen=True)
class IPFacts:
    country: str | None  # ISO code, "EU" for MaxMind's continent-wide entries, None when not found
    as_name: str | None
    operator: Operator | None


def _database() -> Any:
    global _db
    with _lock:
        if _db is None:
            from geoip2fast import GeoIP2Fast  # loaded here: 0.3 s and ~200 MB only when an IP is judged

            _db = GeoIP2Fast(geoip2fast_data_file=DATA_FILE)
        return _db


@lru_cache(maxsize=65536)
def ip_facts(ip: str) -> IPFacts:
    found = _database().lookup(ip)
    code = str(found.country_code or "")
    country = code if len(code) == 2 and code.isalpha() else None
    as_name = str(found.asn_name or "") or None
    if as_name == "<unknown>":
        as_name = None
    operator = network_operators().get(as_name) if as_name else None
    return IPFacts(country, as_name, operator)
