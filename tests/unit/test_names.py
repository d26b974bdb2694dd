from __future__ import annotations

import subprocess

import pytest

from dispatch.core.errors import DispatchError
from dispatch.state import names

SAMPLES = ["api", "a.b", "a..b", ".hidden", "x.lock", "x.", "-rf", "a b", "a~b", "a^b", "a:b",
           "a?b", "a*b", "a[b", "a\\b", "@", "a@{b", "ok-name_1.2", "trailing/", "é", "a\tb"]


@pytest.mark.parametrize("name", SAMPLES)
def test_ref_component_rules_agree_with_git(name: str) -> None:
    proc = subprocess.run(["git", "check-ref-format", f"refs/heads/{name}"],
                          capture_output=True, check=False)
    assert names.is_valid_ref_component(name) == (proc.returncode == 0 and "/" not in name)


@pytest.mark.parametrize(("title", "slug"), [
    ("CLI Infrastructure", "cli-infrastructure"),
    ("  API / Web -- UI!! ", "api-web-ui"),
    ("Ｆｕｌｌ ｗｉｄｔｈ", "full-width"),
    ("Café déjà vu", "cafe-deja-vu"),
    ("раss", "ss"),  # Cyrillic look-alikes are dropped, never kept as confusables
    ("$(rm -rf ~)", "rm-rf"),
    ("'quoted' \"name\"\nnewline", "quoted-name-newline"),
    ("--upload-pack=evil", "upload-pack-evil"),
    ("x" * 300, "x" * 48),
    ("word " * 30, "word-word-word-word-word-word-word-word-word-word"[:44]),
])
def test_workstream_slugs_are_safe(title: str, slug: str) -> None:
    result = names.slugify_workstream(title)
    assert result == slug
    assert names.WORKSTREAM_RE.fullmatch(result) and names.is_valid_ref_component(result)


@pytest.mark.parametrize("bad", ["../x", "-rf", "--upload-pack=x", "a b", "a'b", "$(id)",
                                 "a\nb", "ａｐｉ", "x" * 300, "head", "", "UPPER", ".hidden",
                                 "x.lock", "a..b"])
def test_explicit_bad_feature_names_are_refused(bad: str) -> None:
    with pytest.raises(DispatchError) as caught:
        names.check_feature_name(bad)
    assert "\n" not in caught.value.message


@pytest.mark.parametrize("good", ["voice", "conversation_system", "v2.api", "a-b"])
def test_good_feature_names(good: str) -> None:
    assert names.check_feature_name(good) == good


def test_every_entry_of_the_feature_folder_that_a_slug_could_take_is_reserved() -> None:
    """A workstream named like one of dispatch's own files would get its worktree on top of
    it: the reserved names are read from the folder layout, so a new entry is covered."""
    from dispatch.state import paths

    sluggable = {e for e in paths.FEATURE_ENTRIES if names.WORKSTREAM_RE.fullmatch(e)}
    assert sluggable == {"logs", "results", "integration", "compare"}
    assert sluggable <= names.RESERVED_WORKSTREAMS
    assert all(e in names.RESERVED_WORKSTREAMS or not names.WORKSTREAM_RE.fullmatch(e)
               for e in paths.FEATURE_ENTRIES)
