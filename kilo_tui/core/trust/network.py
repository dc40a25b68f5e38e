"""Which hosts the agent may reach for the model: the private-address guard.

The URL the model asks for is untrusted, and so is every page it reads: a
prompt-injected page could make the agent probe the user's network (a router's admin
page, a cloud metadata service at 169.254.169.254, a database on localhost). So the
tools that reach the network for the model connect only to public addresses, unless
the user set ``[web] allow_private_addresses = true``.

The check is on the address actually connected to, never on how the URL spells it:
:func:`resolve` looks the host up once, checks every address it resolves to, and the
caller connects to the address it returns. So ``2130706433``, ``0x7f.1``,
``0177.0.0.1``, ``[::ffff:127.0.0.1]`` and a name that resolves to 10.0.0.1 are all
refused, and a name that resolves differently the second time (DNS rebinding) has no
second time between the check and the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "[web] allow_private_addresses = true"
"""The setting that turns the guard off, as the user writes it in config.toml."""

_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(Exception):
    """The host is, or resolves to, an address the guard does not allow."""


def normalize_host(host: str) -> str:
    """``host`` as compared in rules: lower case, no brackets, no trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def in_domain(host: str, domain: str) -> bool:
    """True if ``host`` is ``domain`` or one of its subdomains (``docs.python.org`` is
    in ``python.org``; ``notpython.org`` is not)."""
    host, domain = normalize_host(host), normalize_host(domain)
    return bool(host and domain) and (host == domain or host.endswith("." + domain))


def address_problem(address: IPAddress) -> str | None:
    """Why ``address`` is not a public address the agent may reach, or None if it is.

    An IPv6 address that carries an IPv4 one (``::ffff:10.0.0.1``, 6to4, NAT64,
    IPv4-compatible) is judged by the IPv4 address inside it.
    """
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return address_problem(embedded)
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address in ipaddress.IPv4Network("0.0.0.0/8"):
        return "an unspecified address (this machine)"
    if address.is_private:
        return "a private network address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved or not address.is_global:
        return "a reserved, non-public address"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _V4_COMPATIBLE or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The one address to connect to for ``host``: looked up once, every address it
    resolves to checked (a name with one private address among public ones is refused).

    Raises :class:`AddressRefused` with a message for the model, or ``OSError`` when
    the name does not resolve.
    """
    infos = await asyncio.get_running_loop().getaddrinfo(
        normalize_host(host), port, type=socket.SOCK_STREAM
    )
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        for text in addresses:
            problem = address_problem(ipaddress.ip_address(text))
            if problem is not None:
                shown = host if text == normalize_host(host) else f"{host} ({text})"
                raise AddressRefused(
                    f"{shown} is {problem}. Requests to private and local addresses are "
                    "refused so that a web page cannot make the agent probe the user's "
                    f"network; the user can allow them with {SETTING} in config.toml."
                )
    return addresses[0]
