"""Where the hub may connect: no loopback, private, link-local or metadata address unless the operator allows it.

A vendor URL is typed by an operator or handed out by a vendor (a next-page URL), so it may
point anywhere: at a cloud metadata service, at the hub's own database, at a machine on the
hub's network. Every connection to a vendor is checked after DNS resolution, on the addresses
it is about to use: `GuardedBackend` resolves the host once (through `resolve`, which tests
patch), checks every address and connects to a checked one, so a name cannot be re-resolved
to another address between the check and the connection. TLS still verifies the host name.

The operator opens addresses with `IHUB_ALLOWED_HOSTS`: a comma-separated list of host names,
addresses and CIDR networks (`10.0.0.0/8,vendor.internal,127.0.0.1`). A metadata address (or
name) is opened only when it is listed itself: no network or host name opens it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from functools import cache
from typing import Iterable

import httpcore
import httpx

from models.errors import HubError

ALLOWED_HOSTS = "IHUB_ALLOWED_HOSTS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))
"""The cloud instance metadata services (AWS, GCP, Azure, and AWS's IPv6 one), which hand out credentials."""
METADATA_NAMES = frozenset({"metadata.google.internal"})


class EgressRefused(HubError):
    """A connection the egress policy does not allow: to a loopback, private, link-local or metadata address."""


@dataclass(frozen=True)
class Allowance:
    """What the operator opened with IHUB_ALLOWED_HOSTS."""

    names: frozenset[str] = frozenset()
    addresses: frozenset[IPAddress] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, setting: str) -> Allowance:
        names, addresses, networks = set(), set(), []
        for entry in (part.strip() for part in setting.split(",")):
            if not entry:
                continue
            if "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise HubError(f"{ALLOWED_HOSTS}: {entry!r} is not a network (e.g. 10.0.0.0/8)") from None
                continue
            try:
                addresses.add(ipaddress.ip_address(entry.strip("[]")))
            except ValueError:
                names.add(_name(entry))
        return cls(frozenset(names), frozenset(addresses), tuple(networks))

    def opens(self, host: str, address: IPAddress) -> bool:
        name = _name(host)
        if _is_metadata(name, address):  # one by one: its name and its address each listed themselves
            return ((address not in METADATA_ADDRESSES or address in self.addresses)
                    and (name not in METADATA_NAMES or name in self.names))
        return name in self.names or address in self.addresses or any(address in net for net in self.networks)


def allowance() -> Allowance:
    """The operator's allowance, read now (so a changed setting applies to the next connection)."""
    return Allowance.parse(os.environ.get(ALLOWED_HOSTS, ""))


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order; an address resolves to itself."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def refusal(host: str, address: IPAddress) -> str | None:
    """Why connecting to `host` at `address` is refused, or None when it is allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:  # ::ffff:10.0.0.1 is 10.0.0.1
        address = address.ipv4_mapped
    name = _name(host)
    kind = _kind(name, address)
    if kind is None or allowance().opens(name, address):
        return None
    shown = f"{host} ({kind})" if name == str(address) else f"{host} ({address}, {kind})"
    if _is_metadata(name, address):
        listed = [name] * (name in METADATA_NAMES) + [str(address)] * (address in METADATA_ADDRESSES)
        return (f"refused to connect to {shown}: a metadata service hands out the machine's own credentials, "
                f"so it opens only when {ALLOWED_HOSTS} lists {' and '.join(listed)} (no network or host name opens it)")
    fix = (f"{address} (or its network or host name) added to {ALLOWED_HOSTS}" if os.environ.get(ALLOWED_HOSTS)
           else f"{ALLOWED_HOSTS}={address} (or its network or host name)")
    return f"refused to connect to {shown}: an on-premises vendor needs {fix}"


def check(host: str, addresses: Iterable[IPAddress]) -> list[IPAddress]:
    """The addresses, once every one is allowed; else `EgressRefused` for the first that is not."""
    addresses = list(addresses)
    for address in addresses:
        problem = refusal(host, address)
        if problem:
            raise EgressRefused(problem)
    return addresses


def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """`host` resolved once and checked: the addresses to connect to."""
    try:
        return check(host, resolve(host, port))
    except OSError as exc:  # no such name, no network: the caller's "cannot reach"
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses the egress policy allows."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in checked_addresses(host, port):  # as socket.create_connection does: each in turn
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} resolved to no address")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's default transport over `GuardedBackend`.

    httpx takes no network backend, so the pool that `HTTPTransport` would build (with httpx's
    default limits and TLS context) is built here; every other method is HTTPTransport's.
    """

    def __init__(self) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=_tls_context(), max_connections=100, max_keepalive_connections=20,
            keepalive_expiry=5.0, network_backend=GuardedBackend(),
        )


@cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs), made once: loading the CAs costs ~30 ms of CPU, which
    every run, connection test and dependent stream's client paid again."""
    return httpx.create_ssl_context()


def guarded_client(**options) -> httpx.Client:
    """An `httpx.Client` whose connections pass the egress policy; takes `httpx.Client`'s options.

    With a transport of its own, httpx also ignores proxy settings in the environment, which
    would otherwise carry requests past the check.
    """
    return httpx.Client(transport=GuardedTransport(), **options)


def _kind(name: str, address: IPAddress) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    if _is_metadata(name, address):
        return "a cloud metadata address"
    for kind, test in (("a loopback address", "is_loopback"), ("a link-local address", "is_link_local"),
                       ("an unspecified address", "is_unspecified"), ("a multicast address", "is_multicast"),
                       ("a private address", "is_private"), ("a reserved address", "is_reserved")):
        if getattr(address, test):
            return kind
    return None if address.is_global else "a non-public address"


def _is_metadata(name: str, address: IPAddress) -> bool:
    return address in METADATA_ADDRESSES or name in METADATA_NAMES


def _name(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()
