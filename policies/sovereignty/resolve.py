"""Follow a hostname through DNS: every CNAME on the way and every A and AAAA answer at the end.

A name is only as sovereign as everything it leads to: `cdn.ok.gouv.fr` that CNAMEs to a CloudFront
name whose addresses are Amazon's is an American endpoint. NXDOMAIN, no address, or no answer in time
all make the name unverifiable, which the strict profile treats as a violation.

An audit names many hosts: `resolve_all` looks them up concurrently, the whole within one deadline,
so input naming thousands of unanswered names costs the deadline, not seconds per name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dns.message

MAX_CNAME_DEPTH = 8
MAX_PARALLEL = 32
DEFAULT_DEADLINE = 30.0


@dataclass(frozen=True)
class Resolution:
    name: str
    cnames: tuple[str, ...] = ()  # the chain after `name`, in order
    addresses: tuple[str, ...] = ()
    # Why the name cannot be verified ("NXDOMAIN", "timeout", ...); None when addresses were found.
    failure: str | None = None


@dataclass
class Resolver:
    """A stub resolver bound to given nameservers (tests point it at a dnsmasq on loopback)."""

    nameservers: list[str] = field(default_factory=list)
    port: int = 53
    timeout: float = 2.0
    # For all the names of one `resolve_all`, in seconds.
    deadline: float = DEFAULT_DEADLINE
    _answers: dict[str, Resolution] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        # dnspython is loaded only when a name is looked up: most runs judge offline.
        import dns.resolver

        if self.nameservers:
            self._stub = dns.resolver.Resolver(configure=False)
            self._stub.nameservers = list(self.nameservers)
        else:
            self._stub = dns.resolver.Resolver()
        self._stub.port = self.port
        self._stub.lifetime = self.timeout
        self._stub.timeout = self.timeout
        self._stub.cache = None

    def _query(self, name: str, rdtype: str, until: float | None) -> tuple[list[str], list[str], str | None]:
        """(CNAME targets in order, addresses, failure) for one query type, given up at `until`."""
        import dns.exception
        import dns.rdatatype
        import dns.resolver

        lifetime = self.timeout
        if until is not None:
            lifetime = min(lifetime, until - time.monotonic())
            if lifetime <= 0:
                return [], [], f"no answer within the overall deadline of {self.deadline:g} s"
        try:
            answer = self._stub.resolve(name, rdtype, search=False, raise_on_no_answer=False, lifetime=lifetime)
        except dns.resolver.NXDOMAIN:
            return [], [], "NXDOMAIN"
        except (dns.exception.Timeout, dns.resolver.LifetimeTimeout):
            return [], [], f"no answer within {self.timeout:g} s"
        except dns.resolver.NoNameservers as exc:
            return [], [], f"nameservers failed ({exc})"
        except dns.exception.DNSException as exc:
            return [], [], f"DNS error ({exc.__class__.__name__})"
        response: dns.message.Message = answer.response
        cnames: list[str] = []
        addresses: list[str] = []
        want = dns.rdatatype.from_text(rdtype)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                cnames.extend(rdata.target.to_text(omit_final_dot=True).lower() for rdata in rrset)
            elif rrset.rdtype == want:
                addresses.extend(rdata.address for rdata in rrset)
        return cnames, addresses, None

    def resolve(self, host: str) -> Resolution:
        known = self._answers.get(host)
        return known if known is not None else self._resolve(host, None)

    def resolve_all(self, hosts: Iterable[str]) -> None:
        """Look every host up at once, within `deadline` in all; `resolve` then answers from memory."""
        todo = sorted({h for h in hosts if h not in self._answers})
        if not todo:
            return
        until = time.monotonic() + self.deadline
        pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(todo)), thread_name_prefix="dns")
        futures = {pool.submit(self._resolve, host, until): host for host in todo}
        # Every query gives up at `until`; the margin only covers the threads' own bookkeeping.
        done, _pending = wait(futures, timeout=self.deadline + 1.0)
        late = Resolution("", failure=f"no answer within the overall deadline of {self.deadline:g} s")
        for future, host in futures.items():
            error = future.exception() if future in done else None
            if future in done and error is None:
                self._answers[host] = future.result()
            else:
                failure = f"DNS error ({type(error).__name__})" if error else late.failure
                self._answers[host] = Resolution(host, failure=failure)
        pool.shutdown(wait=False, cancel_futures=True)

    def _resolve(self, host: str, until: float | None) -> Resolution:
        chain: list[str] = []
        addresses: list[str] = []
        failures: list[str] = []
        name = host
        for _ in range(MAX_CNAME_DEPTH):
            found_any = False
            next_name: str | None = None
            for rdtype in ("A", "AAAA"):
                cnames, addrs, failure = self._query(name, rdtype, until)
                if failure:
                    failures.append(failure)
                    continue
                found_any = True
                for target in cnames:
                    if target not in chain:
                        chain.append(target)
                addresses.extend(a for a in addrs if a not in addresses)
                if cnames and not addrs:
                    next_name = cnames[-1]
            if addresses or not found_any or next_name is None or next_name == name:
                break
            # The server gave the CNAME but not the target's addresses: ask for the target.
            name = next_name
        else:
            return Resolution(host, tuple(chain), tuple(addresses), f"CNAME chain longer than {MAX_CNAME_DEPTH}")
        if addresses:
            # A failed query type beside a good one still hides answers: fail closed on timeouts.
            timeouts = [f for f in failures if f.startswith("no answer")]
            return Resolution(host, tuple(chain), tuple(addresses), timeouts[0] if timeouts else None)
        return Resolution(host, tuple(chain), (), failures[0] if failures else "no A or AAAA record")


def from_environment() -> Resolver:
    """`VISIO_DNS_SERVER=host[:port]`, `VISIO_DNS_TIMEOUT=seconds` (per query) and
    `VISIO_DNS_DEADLINE=seconds` (for all names at once); else the system's resolvers."""
    server = os.environ.get("VISIO_DNS_SERVER", "")
    timeout = float(os.environ.get("VISIO_DNS_TIMEOUT", "2"))
    deadline = float(os.environ.get("VISIO_DNS_DEADLINE", str(DEFAULT_DEADLINE)))
    if not server:
        return Resolver(timeout=timeout, deadline=deadline)
    if server.startswith("["):
        host, _, port = server[1:].partition("]")
        port = port.lstrip(":")
    elif server.count(":") == 1:
        host, _, port = server.partition(":")
    else:
        host, port = server, ""
    return Resolver([host], int(port) if port else 53, timeout, deadline)
