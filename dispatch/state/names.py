"""Rules for the names that become paths and git refs: features and workstreams.

A feature name is `[a-z0-9][a-z0-9._-]*`; a workstream slug is `[a-z0-9][a-z0-9-]*`. Both are
short, never reserved, and always valid ref components, so `<feature>/<workstream>` is a valid
branch name and `.worktrees/<feature>/<workstream>` stays inside `.worktrees/`.
"""

from __future__ import annotations

import re
import unicodedata

from dispatch.core.errors import DispatchError
from dispatch.core.text import shown
from dispatch.state.paths import FEATURE_ENTRIES

MAX_NAME = 48
FEATURE_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
WORKSTREAM_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
# Competing teams of one workstream are its attempts `<ws>.t1`, `<ws>.t2`, ...: a workstream
# slug never holds a dot, so an attempt's name (its worktree folder and its branch's last
# component) can never be a workstream's, nor one of the feature folder's own files.
MAX_TEAMS = 9
ATTEMPT_RE = re.compile(r"([a-z0-9][a-z0-9-]*)\.t([1-9])")
# `head` as a branch component reads like git's HEAD in every message: never a name.
_CONFUSING = frozenset({"head"})
# A workstream's worktree sits beside dispatch's own files in the feature folder: the names
# of those files that a workstream slug could take are reserved (paths.FEATURE_ENTRIES).
RESERVED_WORKSTREAMS = frozenset(
    name for name in FEATURE_ENTRIES if WORKSTREAM_RE.fullmatch(name)) | _CONFUSING
# Features sit beside `.archive` only, which no feature name can be.
RESERVED_FEATURES = _CONFUSING
_DATE_PREFIX = re.compile(r"^\d{4}([-_.]?)\d{2}\1\d{2}(?:[-_.T]\d{2}(?:[-_.:]?\d{2}){1,2})?[-_. ]+")


def _ascii_fold(text: str) -> str:
    # NFKD folds look-alikes such as full-width letters and accents; anything left that is
    # not ASCII (e.g. Cyrillic) becomes a separator instead of a confusable letter.
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _trim(slug: str, keep: str) -> str:
    slug = re.sub(f"[^a-z0-9{keep}]+", "-", slug)
    slug = re.sub(r"-{2,}", "-", slug).strip("-._")
    if len(slug) > MAX_NAME:
        cut = slug[:MAX_NAME]
        slug = cut.rsplit("-", 1)[0] if "-" in cut[MAX_NAME // 2 :] else cut
        slug = slug.strip("-._")
    return slug


def slugify_workstream(title: str) -> str:
    """'CLI Infrastructure' -> 'cli-infrastructure'. May return '' for hopeless input."""
    return _trim(_ascii_fold(title).lower(), keep="")


def feature_from_filename(stem: str) -> str:
    """'2025_06_07_14_35_00_conversation_system' -> 'conversation_system'."""
    without_date = _DATE_PREFIX.sub("", stem, count=1) or stem
    slug = _trim(_ascii_fold(without_date).lower(), keep="._")
    return re.sub(r"\.{2,}", ".", slug).removesuffix(".lock")


def is_valid_ref_component(name: str) -> bool:
    """The rules of `git check-ref-format` for one path component (tested against git)."""
    if not name or name.startswith(".") or name.endswith((".", ".lock")):
        return False
    if ".." in name or "@{" in name:
        return False
    return not any(ch in name for ch in " ~^:?*[\\/\x7f") and all(ord(c) >= 32 for c in name)


def attempt_name(workstream: str, team: int) -> str:
    """'audio', 2 -> 'audio.t2' (a valid ref component and path segment: see ATTEMPT_RE)."""
    return f"{workstream}.t{team}"


def parse_attempt(name: str) -> tuple[str, int] | None:
    """'audio.t2' -> ('audio', 2); None for any other name."""
    match = ATTEMPT_RE.fullmatch(name)
    return (match[1], int(match[2])) if match else None


def unknown_workstream(feature: str, name: str, known: list[str]) -> DispatchError:
    return DispatchError(f"feature '{feature}' has no workstream {shown(name)} (it has: "
                         f"{', '.join(known) or 'none'})")


def check_feature_name(name: str) -> str:
    """Validate a feature name given explicitly (frontmatter, command line)."""
    _check(name, FEATURE_RE, RESERVED_FEATURES, "feature", "letters a-z, digits, '.', '_', '-'")
    return name


def _check(name: str, pattern: re.Pattern[str], reserved: frozenset[str], kind: str,
           allowed: str) -> None:
    quoted = shown(name)
    if len(name) > MAX_NAME:
        raise DispatchError(f"{kind} name {quoted} is longer than {MAX_NAME} characters; "
                            "choose a shorter one")
    ok = pattern.fullmatch(name) and is_valid_ref_component(name) and ".." not in name
    if not ok:
        raise DispatchError(f"invalid {kind} name {quoted}: use {allowed}, "
                            "starting with a letter or digit")
    if name in reserved:
        raise DispatchError(f"{kind} name {quoted} is reserved by dispatch; choose another")
