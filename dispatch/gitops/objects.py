"""A commit's files read, and one file written, without any checkout: `ls-tree`, one
`cat-file --batch` for many blobs, and a tree rebuilt in a throwaway index."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from dispatch.gitops.runner import run, run_bytes

REGULAR_FILE = "100644"


@dataclass(frozen=True)
class Entry:
    """One file of a commit's tree (`git ls-tree -r -l`)."""

    path: str
    mode: str  # 100644, 100755, 120000 (a symbolic link), 160000 (a submodule)
    kind: str  # blob, or commit for a submodule
    sha: str
    size: int | None  # None for a submodule


def parse_ls_tree_long(text: str) -> list[Entry]:
    """Entries from `git ls-tree -r -l -z`: `<mode> <type> <sha> <size>\\t<path>\\0`."""
    entries = []
    for record in text.split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, sha, size = meta.split()
        entries.append(Entry(path, mode, kind, sha, int(size) if size.isdigit() else None))
    return entries


def files(cwd: Path, commit: str) -> list[Entry]:
    """Every file of `commit`, with its size (git cannot match globs in ls-tree)."""
    return parse_ls_tree_long(run(["ls-tree", "-r", "-l", "-z", "--full-tree", commit], cwd))


def read_blobs(cwd: Path, shas: list[str]) -> dict[str, bytes]:
    """The contents of these blobs, by sha, read by one `git cat-file --batch`."""
    if not shas:
        return {}
    out = run_bytes(["cat-file", "--batch"], cwd, stdin="".join(f"{s}\n" for s in shas).encode())
    found: dict[str, bytes] = {}
    at = 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end].split()  # <sha> <type> <size>, or <sha> missing
        at = end + 1
        if len(header) == 3:
            size = int(header[2])
            found[header[0].decode()] = out[at:at + size]
            at += size + 1  # the contents, then a newline
    return found


def write_blob(cwd: Path, data: bytes) -> str:
    return run_bytes(["hash-object", "-w", "--stdin"], cwd, stdin=data).decode().strip()


def tree_with_file(cwd: Path, commit: str, path: str, blob: str) -> str:
    """The tree of `commit` with the file `path` set to `blob` (made or replaced), built
    in a throwaway index: no worktree, and not the index of any checkout, is touched."""
    with tempfile.TemporaryDirectory(prefix="dispatch-index-") as folder:
        env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
        run(["read-tree", commit], cwd, extra_env=env)
        run(["update-index", "-z", "--index-info"], cwd, extra_env=env,
            stdin=f"{REGULAR_FILE} {blob}\t{path}\0")
        return run(["write-tree"], cwd, extra_env=env).strip()
