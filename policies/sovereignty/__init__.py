"""Endpoint sovereignty: canonical endpoints, where they are found, where they live and under which law.

- `canonical`: one unambiguous host from a URL, `host:port` or IP literal (the parsing bypasses).
- `extract`: endpoint-looking substrings in configuration values and embedded documents.
- `place` / `verdict`: placement (internal, trusted, FR, EU, non-EU, unknown), operator, jurisdiction.
- `resolve`: DNS follow-up (CNAME chains, every A/AAAA) when the policy asks for it.
"""

from policies.sovereignty.canonical import Endpoint, EndpointSyntaxError, canonicalize
from policies.sovereignty.place import Judge, judge_for
from policies.sovereignty.verdict import Placement, Profile, Verdict

__all__ = [
    "Endpoint",
    "EndpointSyntaxError",
    "Judge",
    "Placement",
    "Profile",
    "Verdict",
    "canonicalize",
    "judge_for",
]
