"""The private-address guard (kilo_tui/core/trust/network.py), attacked with the
spellings and tricks a prompt-injected page would use. The fetch_url tests show the
tool goes through it on every hop."""

from __future__ import annotations

import ipaddress

import pytest

from kilo_tui.core.trust.network import AddressRefused, address_problem, resolve

REFUSED = [
    "127.0.0.1",
    "127.255.10.1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "0.0.0.0",
    "0.1.2.3",
    "100.64.0.1",  # carrier-grade NAT
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::7f00:1",  # IPv4-compatible
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 around 169.254.169.254
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_local_and_embedded_addresses_are_refused(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",  # decimal
        "017700000001",  # octal
        "0177.0.0.1",
        "0x7f000001",  # hex
        "0x7f.1",
        "127.1",
        "[::1]",
        "::ffff:127.0.0.1",
        "localhost",  # a name that resolves to loopback
        "LOCALHOST.",
        "0",
        "0.0.0.0",
    ],
)
async def test_every_spelling_of_this_machine_is_refused(host: str) -> None:
    with pytest.raises(AddressRefused) as refused:
        await resolve(host, 80, allow_private=False)
    message = str(refused.value)
    assert "[web] allow_private_addresses = true" in message
    assert host in message


async def test_the_setting_lets_private_addresses_through_pinned_to_one_address() -> None:
    assert await resolve("2130706433", 80, allow_private=True) == "127.0.0.1"
    assert await resolve("localhost", 80, allow_private=True) in ("127.0.0.1", "::1")
