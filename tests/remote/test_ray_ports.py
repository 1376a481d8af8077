"""Which TCP ports the private Ray instance of ``engine-serve`` listens on, and on which address.

Issue 24: the instance was commented "loopback only" but listened on all interfaces. The
listeners are read from the kernel (``/proc/net/tcp``, ``/proc/net/tcp6`` and each process's
socket inodes), for every process of the engine-serve tree and every process using its Ray
session folder. Ray's public options put what they can on loopback (remote_serve.serve_main);
the remainder listed in ``ALLOWED_PUBLIC`` is what Ray offers no public option for and the
README's remote-engine section names.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

from remote_rig import EngineServe

# Process names (the first 15 characters, /proc/PID/comm) whose ports Ray binds on all interfaces
# with no public option to move them. Ray Serve 2.60's replica starts its inter-deployment gRPC
# server on "[::]:0" (ray/serve/_private/replica.py, _on_initialized), one per replica.
ALLOWED_PUBLIC: frozenset[str] = frozenset({"ray::ServeRepli"})
REPLICAS = 1  # the fixture's engine-serve runs one replica


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(hex_addr, 16)))
    words = struct.unpack("<4I", raw)
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))


def _listening() -> dict[int, tuple[str, int]]:
    """Socket inode -> (address, port) of every TCP socket in LISTEN state on this machine."""
    out: dict[int, tuple[str, int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                addr, port = fields[1].split(":")
                out[int(fields[9])] = (_address(addr), int(port, 16))
    return out


def _ray_pids(server: EngineServe) -> set[int]:
    pids = {server.proc.pid} | server.descendants()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if server.temp_dir.encode() in (entry / "cmdline").read_bytes():
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def ray_listeners(server: EngineServe) -> list[tuple[str, str, int]]:
    """(process name, address, port) of every TCP listener of the engine-serve tree, sorted."""
    listening = _listening()
    found = set()
    for pid in _ray_pids(server):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue  # gone meanwhile
        for link in links:
            if link.startswith("socket:["):
                inode = int(link[8:-1])
                if inode in listening:
                    found.add((name, *listening[inode]))
    return sorted(found)


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1") or address.startswith("::ffff:127.")


def test_the_private_ray_instance_listens_on_loopback_only(engine_serve: EngineServe) -> None:
    listeners = ray_listeners(engine_serve)
    print("\n".join(f"{name:<16} {addr}:{port}" for name, addr, port in listeners))
    assert any(port == engine_serve.port for _, _, port in listeners), listeners  # the reading works
    public = [(name, addr, port) for name, addr, port in listeners if not _is_loopback(addr)]
    assert {name for name, _, _ in public} <= ALLOWED_PUBLIC, f"listening beyond loopback: {public}"
    assert len(public) <= REPLICAS, f"more than one replica gRPC port beyond loopback: {public}"
