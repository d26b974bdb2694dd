"""`ports.assign`: each worktree's ports, as a table. `busy` stands in for the machine (which
ports something listens on), `taken` for the ports other worktrees already have."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dispatch.core.errors import DispatchError
from dispatch.workspace.envfile import EnvSource
from dispatch.workspace.ports import assign, base_ports, check_base_port, port_keys


@dataclass(frozen=True)
class Row:
    id: str
    bases: dict[str, int]
    position: int
    expect: dict[str, int]
    taken: frozenset[int] = frozenset()
    busy: frozenset[int] = field(default_factory=frozenset)


ROWS = [
    Row("first-workstream", {"PORT": 8000}, 1, {"PORT": 8001}),
    Row("fifth-workstream", {"PORT": 8000}, 5, {"PORT": 8005}),
    Row("every-key-shifted-alike", {"PORT": 8000, "DB_PORT": 5432}, 2,
        {"PORT": 8002, "DB_PORT": 5434}),
    Row("busy-port-skipped", {"PORT": 8000}, 1, {"PORT": 8002}, busy=frozenset({8001})),
    Row("busy-run-skipped", {"PORT": 8000}, 1, {"PORT": 8004},
        busy=frozenset({8001, 8002, 8003})),
    Row("taken-port-skipped", {"PORT": 8000}, 1, {"PORT": 8003}, taken=frozenset({8001, 8002})),
    Row("taken-and-busy-skipped", {"PORT": 8000}, 1, {"PORT": 8003},
        taken=frozenset({8001}), busy=frozenset({8002})),
    Row("one-busy-key-moves-the-whole-offset", {"PORT": 8000, "DB_PORT": 5432}, 1,
        {"PORT": 8002, "DB_PORT": 5434}, busy=frozenset({5433})),
    Row("one-taken-key-moves-the-whole-offset", {"PORT": 8000, "DB_PORT": 5432}, 1,
        {"PORT": 8002, "DB_PORT": 5434}, taken=frozenset({5433})),
    Row("keys-that-would-collide-are-spread", {"PORT": 8000, "API_PORT": 8001}, 1,
        {"PORT": 8001, "API_PORT": 8002}),
    Row("another-features-ports-are-taken", {"PORT": 8000}, 1, {"PORT": 8004},
        taken=frozenset({8001, 8002, 8003})),
    Row("the-top-port", {"PORT": 65000}, 535, {"PORT": 65535}),
    Row("other-ports-below-are-not-in-the-way", {"PORT": 8000}, 1, {"PORT": 8001},
        taken=frozenset({8000, 7999}), busy=frozenset({8000})),
]


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in ROWS])
def test_assign(row: Row) -> None:
    taken = set(row.taken)
    assert assign(row.bases, row.position, taken, busy=row.busy.__contains__) == row.expect
    assert taken == set(row.taken) | set(row.expect.values())  # now taken for the next one


NO_ROOM_PORT = ("no free ports: above PORT=65000 there is no room for another worktree's "
                "PORT; lower it with --base-port")
NO_ROOM_DB = ("no free ports: above DB_PORT=65530 there is no room for another worktree's "
              "DB_PORT; lower it in .env")
ERRORS = [  # (id, bases, position, taken, busy, message)
    ("past-the-top", {"PORT": 65000}, 536, set(), set(), NO_ROOM_PORT),
    ("busy-up-to-the-top", {"PORT": 65000}, 1, set(), set(range(65001, 65536)), NO_ROOM_PORT),
    ("taken-up-to-the-top", {"PORT": 65000}, 1, set(range(65001, 65536)), set(),
     NO_ROOM_PORT),
    ("another-key-past-the-top", {"PORT": 8000, "DB_PORT": 65530}, 6, set(), set(),
     NO_ROOM_DB),
    ("keys-that-always-collide", {"PORT": 8000, "WEB_PORT": 8000}, 1, set(), set(),
     "no free ports for PORT, WEB_PORT above 8000, 8000; pass a lower --base-port or free "
     "some ports"),
    ("two-thousand-busy", {"PORT": 8000}, 1, set(), set(range(8001, 10001)),
     "no free ports for PORT above 8000; pass a lower --base-port or free some ports"),
]


@pytest.mark.parametrize(("bases", "position", "taken", "busy", "message"),
                         [pytest.param(*row[1:], id=row[0]) for row in ERRORS])
def test_no_free_ports(bases: dict[str, int], position: int, taken: set[int], busy: set[int],
                       message: str) -> None:
    before = set(taken)
    with pytest.raises(DispatchError) as caught:
        assign(bases, position, taken, busy=busy.__contains__)
    assert caught.value.message == message
    assert taken == before  # a refusal takes nothing


@pytest.mark.parametrize(("values", "found"), [
    ({"PORT": "3000", "DB_PORT": " 5432 ", "SECRET": "8000"}, {"PORT": 3000, "DB_PORT": 5432}),
    ({"PORT": "0", "X_PORT": "65536", "Y_PORT": "abc", "Z_PORT": None}, {}),
    ({"port": "3000", "PORTS": "3000", "_PORT": "1", "A_PORT": "65535"}, {"A_PORT": 65535}),
])
def test_port_keys(values: dict[str, str | None], found: dict[str, int]) -> None:
    assert port_keys(values) == found


@pytest.mark.parametrize(("option", "spec", "env_port", "expected"), [
    (9000, 7000, "6000", {"PORT": 9000}),
    (None, 7000, "6000", {"PORT": 7000}),
    (None, None, "6000", {"PORT": 6000}),
    (None, None, None, {"PORT": 8000}),
])
def test_base_port_precedence(option: int | None, spec: int | None, env_port: str | None,
                              expected: dict[str, int]) -> None:
    env = EnvSource(Path(".env"), {"PORT": env_port, "DB_PORT": "5432"}, tracked=False,
                    ignored=True) if env_port else None
    assert base_ports(option, spec, env) == (
        {**expected, "DB_PORT": 5432} if env else expected)


@pytest.mark.parametrize(("port", "ok"), [(1023, False), (1024, True), (65000, True),
                                          (65001, False)])
def test_base_port_range(port: int, ok: bool) -> None:
    if ok:
        assert check_base_port(port) == port
        return
    with pytest.raises(DispatchError) as caught:
        check_base_port(port)
    assert caught.value.message == (f"--base-port {port} is out of range for worktree ports; "
                                     "use a port between 1024 and 65000 (e.g. --base-port 8000)")
