"""Files others can write: a pipe, a link or a folder where dispatch keeps a file never
blocks or misleads a reader, and a writer gets a regular file of its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dispatch.core import files


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "api.1.jsonl"
    os.mkfifo(path)
    return path


def test_a_pipe_reads_as_missing_without_blocking(fifo: Path) -> None:
    # (a blocking open would hang this test: nobody writes to the pipe)
    assert files.read_bytes(fifo) == b""
    assert files.read_text(fifo) is None
    assert files.tail(fifo, 100) == b""
    with pytest.raises(OSError):
        files.open_regular(fifo)


def test_a_link_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOKEN=1\n")
    link = tmp_path / "RESULTS.md"
    link.symlink_to(secret)
    assert files.read_text(link) is None


def test_a_regular_file_reads_whole_or_its_tail(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"first\nsecond\n\xff")
    assert files.read_bytes(path) == b"first\nsecond\n\xff"
    assert files.read_bytes(path, 5) == b"first"
    assert files.read_text(path) == "first\nsecond\n\ufffd"
    assert files.tail(path, 8) == b"second\n\xff"
    assert files.tail(path, 1000) == b"first\nsecond\n\xff"


def test_a_writer_replaces_a_pipe_or_a_link_and_leaves_the_target_alone(
        tmp_path: Path, fifo: Path) -> None:
    with files.open_log(fifo) as out:
        out.write(b"one\n")
    assert fifo.read_bytes() == b"one\n" and not fifo.is_symlink()
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    link = tmp_path / "events.jsonl"
    link.symlink_to(target)
    with files.open_log(link, "wb") as out:
        out.write(b"two\n")
    assert (link.read_text(), target.read_text()) == ("two\n", "keep\n")


def test_a_writer_appends_or_truncates(tmp_path: Path) -> None:
    path = tmp_path / "log"
    for mode, text in (("ab", b"a\n"), ("ab", b"b\n")):
        with files.open_log(path, mode) as out:
            out.write(text)
    assert path.read_bytes() == b"a\nb\n"
    with files.open_log(path, "wb") as out:
        out.write(b"c\n")
    assert path.read_bytes() == b"c\n"
