"""What every output shows in place of a value nobody may read, or nobody knows yet.

Plans, reports, drift and logs print these; drift also reads them back: a desired field holding one
is not compared with the live value.
"""

from __future__ import annotations

SECRET = "[secret]"  # a Pulumi secret or a `secure:` value of the stack file
UNKNOWN = "[unknown]"  # a value the preview cannot know (computed when the stack is applied)
REDACTED = "[redacted]"  # a credential cut out of a shown value (URL userinfo, Secret data)
OPAQUE = frozenset({SECRET, UNKNOWN, REDACTED})
