"""Giving each worktree its own ports, unique across every feature of the repository.

Workstream N (1-based; the main checkout keeps offset 0) gets offset N: `PORT` = base + N and
every other `*_PORT` is shifted by the same offset. An offset is skipped when any of its ports
is already recorded for another worktree or is busy on this machine.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from dispatch.core.errors import DispatchError
from dispatch.state.paths import FeaturePaths, features

if TYPE_CHECKING:
    from dispatch.workspace.envfile import EnvSource

DEFAULT_BASE_PORT = 8000
_PORT_KEY = re.compile(r"^(?:PORT|[A-Z0-9_]+_PORT)$")
_MAX_TRIES = 2000


def port_keys(values: dict[str, str | None]) -> dict[str, int]:
    """The `PORT` and `*_PORT` entries of a .env that hold a port number."""
    found: dict[str, int] = {}
    for key, value in values.items():
        if _PORT_KEY.match(key) and value is not None and value.strip().isdigit():
            port = int(value.strip())
            if 0 < port < 65536:
                found[key] = port
    return found


def is_busy(port: int) -> bool:
    """Whether something on this machine already listens on (or holds) the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def assign(bases: dict[str, int], position: int, taken: set[int],
           busy: Callable[[int], bool] = is_busy) -> dict[str, int]:
    """Ports for the workstream at 1-based `position`; adds them to `taken`."""
    for offset in range(position, position + _MAX_TRIES):
        ports = {key: base + offset for key, base in bases.items()}
        values = list(ports.values())
        if max(values) > 65535:
            key = max(bases, key=lambda k: bases[k])
            raise DispatchError(f"no free ports: above {key}={bases[key]} there is no room "
                                f"for another worktree's {key}; lower it"
                                + (" with --base-port" if key == "PORT" else " in .env"))
        if len(set(values)) == len(values) and not taken.intersection(values) \
                and not any(busy(port) for port in values):
            taken.update(values)
            return ports
    raise DispatchError(f"no free ports for {', '.join(bases)} above "
                        f"{', '.join(str(b) for b in bases.values())}; pass a lower "
                        "--base-port or free some ports")


def check_base_port(port: int, source: str = "--base-port") -> int:
    if not 1024 <= port <= 65000:
        raise DispatchError(f"{source} {port} is out of range for worktree ports; use a port "
                            "between 1024 and 65000 (e.g. --base-port 8000)")
    return port


def recorded(port_maps: Iterable[dict[str, int]]) -> set[int]:
    return {port for ports in port_maps for port in ports.values()}


def recorded_ports(root: Path) -> set[int]:
    """Every port already given to a worktree of any feature in this repository."""
    from dispatch.state.store import StateStore

    maps = []
    for name in features(root):
        try:
            state = StateStore(FeaturePaths(root, name)).load()
        except DispatchError:
            continue  # a damaged feature is reported when it is used, not here
        maps += [record.ports for record in state.workstreams.values()]
        if state.integration is not None:
            maps.append(state.integration.ports)
    return recorded(maps)


def base_ports(option: int | None, spec: int | None, env: EnvSource | None) -> dict[str, int]:
    """PORT's base (--base-port, else the spec's base_port, else the .env's PORT, else 8000)
    and the .env's other ports."""
    from_env = port_keys(env.values) if env else {}
    source, base = next((s, p) for s, p in (("--base-port", option),
                                            ("the spec's base_port", spec),
                                            ("the .env's PORT", from_env.get("PORT")),
                                            ("default", DEFAULT_BASE_PORT)) if p)
    return {"PORT": check_base_port(base, source),
            **{k: v for k, v in from_env.items() if k != "PORT"}}
