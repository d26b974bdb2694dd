"""What branches changed: files, commits, diffstats, and where a branch was created."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dispatch.gitops.runner import ok, result, run


def changed_files(cwd: Path, base: str, tip: str) -> list[str]:
    """Files `tip` changed since it left `base` (three-dot: the branch's own changes)."""
    out = run(["diff", "--name-only", "-z", "--no-renames", f"{base}...{tip}"], cwd)
    return [name for name in out.split("\0") if name]


def commit_log(cwd: Path, revision_range: str, limit: int = 50) -> list[tuple[str, str]]:
    """(short sha, subject) of the commits in a range, newest first."""
    out = run(["log", f"--max-count={limit}", "--format=%h%x00%s", revision_range], cwd)
    return [(sha, subject) for sha, _, subject in
            (line.partition("\0") for line in out.splitlines())]


def diffstat(cwd: Path, base: str, tip: str) -> str:
    return run(["diff", "--stat=100", f"{base}...{tip}"], cwd).rstrip()


def file_names(cwd: Path, commit: str) -> list[str]:
    """Every file path in a commit's tree."""
    return [n for n in run(["ls-tree", "-r", "-z", "--name-only", commit], cwd).split("\0") if n]


def creation_commits(cwd: Path, branches: list[str]) -> dict[str, str]:
    """For each branch that still exists, the commit its reflog says it was created at.

    GitPython reads reflogs through its object model; it is imported only here (85 ms), and
    its Repo is closed at once (it leaves `git cat-file` processes behind otherwise)."""
    import git as gitpython

    found: dict[str, str] = {}
    with gitpython.Repo(cwd) as repo:
        for branch in branches:
            if branch in repo.heads:
                entries = repo.heads[branch].log()
                if entries:
                    found[branch] = entries[0].newhexsha
    return found


def top_level_entry(cwd: Path, commit: str, name: str) -> str | None:
    """The `git ls-tree` line of one top-level entry of a commit's tree, or None."""
    out = run(["ls-tree", "-z", commit, "--", name], cwd)
    return out.rstrip("\0") or None


def same_top_level_entry(cwd: Path, a: str, b: str, name: str) -> bool:
    """Whether two commits have the same top-level entry `name` (same mode and content, or
    both without it): one `git diff-tree`, not two listings."""
    return ok(["diff-tree", "--quiet", a, b, "--", name], cwd)


def replace_top_level_entry(cwd: Path, commit: str, name: str, entry: str | None,
                            message: str) -> str:
    """A new commit on top of `commit` whose tree has the top-level entry `name` replaced
    by `entry` (an ls-tree line, or None to leave it out). Dated like `commit`, so the same
    input always gives the same commit."""
    listing = [line for line in run(["ls-tree", "-z", commit], cwd).split("\0")
               if line and line.split("\t", 1)[1] != name]
    if entry is not None:
        listing.append(entry)
    tree = run(["mktree", "-z"], cwd, stdin="".join(f"{line}\0" for line in listing)).strip()
    dates = run(["log", "-1", "--format=%aI%n%cI", commit], cwd).split()
    return run(["commit-tree", "--no-gpg-sign", tree, "-p", commit, "-m", message], cwd,
               extra_env={"GIT_AUTHOR_DATE": dates[0], "GIT_COMMITTER_DATE": dates[1]}).strip()


def numstat(cwd: Path, base: str, tip: str) -> tuple[int, int, int]:
    """(files, lines added, lines removed) of a branch's own changes (binary files count
    as changed files with no lines)."""
    out = run(["diff", "--numstat", "-z", "--no-renames", f"{base}...{tip}"], cwd)
    files = added = removed = 0
    for entry in (e for e in out.split("\0") if e):
        parts = entry.split("\t", 2)
        files += 1
        added += int(parts[0]) if parts[0].isdigit() else 0
        removed += int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return files, added, removed


def diff_text(cwd: Path, base: str, tip: str) -> str:
    """A branch's own changes as a patch (for a reader: no colour, no external diff)."""
    return run(["diff", "--no-color", "--no-ext-diff", "--no-renames", f"{base}...{tip}"], cwd)


def first_parents(cwd: Path, start: str, tip: str) -> list[str]:
    """The commits on `tip`'s first-parent line after `start`, oldest first (the merges
    of an integration branch, one per workstream)."""
    out = run(["rev-list", "--first-parent", "--reverse", f"{start}..{tip}"], cwd)
    return out.split()


def parents(cwd: Path, commit: str) -> list[str]:
    return run(["rev-list", "--parents", "-n", "1", commit], cwd).split()[1:]


@dataclass(frozen=True)
class LineCommit:
    """A commit on a first-parent line (on an integration branch: a merge, or not)."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    subject: str
    body: str


def first_parent_log(cwd: Path, base: str, head: str) -> list[LineCommit]:
    """Each commit on `head`'s first-parent line since `base`, oldest first (a message never
    holds a NUL: the fields are split on it)."""
    fields = run(["log", "--first-parent", "-z", "--reverse", "--format=%H%x00%T%x00%P%x00%s"
                  "%x00%b", f"{base}..{head}"], cwd).split("\0")
    return [LineCommit(sha, tree, tuple(parents.split()), subject, body)
            for sha, tree, parents, subject, body
            in zip(*[iter(fields[:len(fields) - len(fields) % 5])] * 5, strict=True)]


def changed_paths(cwd: Path, before: str, after: str) -> list[str]:
    """The paths that differ between two commits (no rename detection), sorted."""
    out = run(["diff-tree", "-r", "-z", "--name-only", "--no-renames", before, after], cwd)
    return sorted(filter(None, out.split("\0")))


def first_parent_changes(cwd: Path, base: str, head: str,
                         commits: set[str]) -> dict[str, list[str]]:
    """The files each commit on that line changed against its first parent (a merge: what
    the merge brought). `commits` are the line's commits (`first_parent_log`): a header is
    told from a file name by it, as a file name may hold any byte but NUL."""
    out = run(["log", "--first-parent", "--diff-merges=first-parent", "--no-renames",
               "--name-only", "-z", "--format=%x01%H", f"{base}..{head}"], cwd)
    changed: dict[str, list[str]] = {}
    current: list[str] = []
    first = False
    for token in out.split("\0"):
        if token.startswith("\x01") and token[1:] in commits:
            current, first = changed.setdefault(token[1:], []), True
        elif token:  # git puts a newline before a commit's first file name
            current.append(token[1:] if first and token.startswith("\n") else token)
            first = False
    return changed


def conflict_markers(cwd: Path, base: str, tip: str) -> list[str]:
    """Files that `tip` left with conflict markers (lines `<<<<<<<` … `>>>>>>>` that it
    added since `base`), as git's own `diff --check` finds them. A file whose only marker-like
    lines are `=======` (a heading underline, say) does not count."""
    out = result(["diff", "--check", "--no-color", base, tip, "--"], cwd).stdout
    lines: dict[str, list[int]] = {}
    for line in out.splitlines():
        path, sep, rest = line.rpartition(": leftover conflict marker")
        if sep and not rest:
            name, _, number = path.rpartition(":")
            if number.isdigit():
                lines.setdefault(name, []).append(int(number))
    found = []
    for name, numbers in lines.items():
        text = result(["show", f"{tip}:{name}"], cwd).stdout.splitlines()
        if any(0 < n <= len(text) and text[n - 1].startswith(("<<<<<<<", ">>>>>>>"))
               for n in numbers):
            found.append(name)
    return found
