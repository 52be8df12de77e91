"""Where outgoing HTTP may go: public addresses only, unless a setting lists a network.

A webhook URL is typed by an admin; a typo or a stolen admin account must
not turn the outbox into a scanner of the internal network (SSRF). So the
host is resolved at delivery time and every address it resolves to must be
public (``ipaddress``'s ``is_global``, neither multicast nor reserved) or
inside one of ``CONSENT_WEBHOOK_ALLOWED_NETWORKS``; the connection then goes
to the checked address itself (``PinnedConnection``), so a DNS answer that
changes between the check and the connection (rebinding) cannot move it.

Registration refuses up front what needs no resolution to be known local:
a literal address that is not public, and names that are local by
definition (``localhost``, ``*.local``, ``*.internal``…). Delivery checks
again, whatever the name.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 6761 names that always mean this machine.
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
# Suffixes of names that are local by definition or by wide convention (RFC 6762 .local,
# RFC 8375 home.arpa, ICANN's .internal); a name without a dot is a local search-domain name.
LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa", ".lan", ".intranet")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedDestination(ValueError):
    """A destination outside the public internet that no allowed network lists."""


def parse_networks(value: str | Iterable[str] | None) -> tuple[Network, ...]:
    """``"127.0.0.0/8, 10.1.0.0/16"`` (or a list of them) as networks; a bad one raises ValueError."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip())


def _embedded(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), or the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: Address) -> bool:
    """Whether an address is on the public internet (and not multicast, reserved…)."""
    inner = _embedded(address)  # an IPv6 wrapper is as public as what it carries
    return inner.is_global and not (inner.is_multicast or inner.is_reserved or inner.is_unspecified)


def refusal(address: Address, allowed: tuple[Network, ...]) -> str | None:
    """Why ``address`` may not be sent to, or None when it may."""
    inner = _embedded(address)
    if any(a in network for network in allowed for a in (address, inner) if a.version == network.version):
        return None
    if is_public(address):
        return None
    kind = ("loopback" if inner.is_loopback else "link-local" if inner.is_link_local
            else "multicast" if inner.is_multicast else "unspecified" if inner.is_unspecified
            else "reserved" if inner.is_reserved else "private")
    return f"{address} is a {kind} address"


def literal_address(host: str) -> Address | None:
    """The address a host names without any DNS: a literal IP, in any form the resolver accepts."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and any(c.isdigit() for c in host):
        try:  # 2130706433, 0x7f.1, 127.1: legacy IPv4 forms that getaddrinfo still reads
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_host(host: str, allowed: tuple[Network, ...]) -> None:
    """At registration: refuse a host known local without resolving it (raises RefusedDestination)."""
    name = host.lower().rstrip(".")
    address = literal_address(name)
    if address is None and (name in LOOPBACK_NAMES or name.endswith(".localhost")):
        address = ipaddress.IPv4Address("127.0.0.1")
    if address is not None:
        reason = refusal(address, allowed)
        if reason:
            raise RefusedDestination(f"{host}: {reason}")
        return
    if (name.endswith(LOCAL_SUFFIXES) or "." not in name) and not allowed:
        raise RefusedDestination(f"{host} is a local host name")


def resolve(host: str, port: int, allowed: tuple[Network, ...]) -> list[str]:
    """At delivery: every address ``host`` resolves to, all checked; raise RefusedDestination if any fails.

    A resolver error (OSError) propagates: it may pass, so the delivery is retried.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text.split("%")[0]), allowed)
        if reason:
            raise RefusedDestination(f"{host} resolves to {reason}")
    return addresses


class PinnedConnection(http.client.HTTPConnection):
    """HTTP to one checked address; the Host header keeps the name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def _socket(self) -> socket.socket:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def connect(self) -> None:
        self.sock = self._socket()


class PinnedHTTPSConnection(PinnedConnection):
    """HTTPS to one checked address; SNI and the certificate's check use the name."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int, *, address: str, timeout: float,
                 context: ssl.SSLContext | None = None) -> None:
        super().__init__(host, port, address=address, timeout=timeout)
        self.context = context or ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._socket(), server_hostname=self.host)
