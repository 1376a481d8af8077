"""Who may talk to the server: loopback always, other hosts only when listed (``--allow``).

OSC has no authentication, so a server bound to anything but loopback needs an
allow-list (``check_bind`` refuses the bind otherwise).
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Sequence

from core.errors import BadConfig


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def parse_allow(entries: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise BadConfig(f"--allow {entry!r} is not an IP address or network (e.g. 192.168.1.20 or 10.0.0.0/24)") from None
    return tuple(nets)


def check_bind(host: str, allow: Sequence[str]) -> None:
    """Refuse a non-loopback bind without an allow-list (OSC has no authentication)."""
    if not is_loopback(host) and not allow:
        raise BadConfig(
            f"refusing to listen on {host}: OSC has no authentication, so any machine that can reach "
            "this port could use the server. Keep the default --host 127.0.0.1, or name the clients "
            "that may connect with --allow IP [IP ...] (addresses or networks such as 192.168.1.0/24)"
        )


class AllowList:
    """Loopback is always allowed; other clients only when listed."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.networks = parse_allow(entries)

    def __contains__(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if ip.is_loopback:
            return True
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
            if ip.is_loopback:
                return True
        return any(ip.version == net.version and ip in net for net in self.networks)
