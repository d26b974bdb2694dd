"""The spec grammar, one variant per test, from literal documents."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dispatch.core.errors import DispatchError, SpecError
from dispatch.spec.parse import parse_spec
from dispatch.state.plan import Plan, PlanWarning
from tests.support.paths import EXAMPLE_SPEC


def parse(tmp_path: Path, text: str, name: str = "spec.md") -> Plan:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return parse_spec(path, display=name)


def error_of(tmp_path: Path, text: str | bytes, name: str = "spec.md") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    with pytest.raises(SpecError) as caught:
        parse_spec(path, display=name)
    return caught.value.message


FIVE = """\
    # Five streams
    ## Workstreams
    ### Workstream 1: CLI Infrastructure (Can start immediately)
    **Goal**: flags
    - a
    ### Workstream 2: Registry (Can start immediately)
    - b
    ### Workstream 3: Providers
    - c
    ### Workstream 4: Config Loader
    - d
    ### Workstream 5: Docs (After workstreams 1-4)
    - e
    """


def test_after_workstreams_range_depends_on_the_first_four(tmp_path: Path) -> None:
    plan = parse(tmp_path, FIVE)
    assert [ws.name for ws in plan.workstreams] == [
        "cli-infrastructure", "registry", "providers", "config-loader", "docs"]
    assert plan.workstreams[4].depends_on == [
        "cli-infrastructure", "registry", "providers", "config-loader"]
    assert [ws.depends_on for ws in plan.workstreams[:4]] == [[], [], [], []]
    assert plan.workstreams[4].title == "Docs"


def test_example_spec_parses_with_fields_of_every_form() -> None:
    plan = parse_spec(EXAMPLE_SPEC)
    assert plan.feature == "plugin_system"
    assert plan.title == "Plugin system for the voice assistant"
    assert plan.base_port == 8100 and plan.max_parallel == 3
    registry = plan.workstream("registry")
    assert registry.files == ["app/providers/registry.py", "pyproject.toml"]
    assert registry.depends_on == ["provider-interfaces"]
    assert registry.agent.model == "opus"
    assert plan.workstream("built-in-providers").depends_on == ["provider-interfaces"]
    assert plan.warnings == []


@pytest.mark.parametrize(("filename", "feature"), [
    ("2025_06_07_14_35_00_conversation_system.md", "conversation_system"),
    ("2025-06-08-foo.md", "foo"),
    ("20250608_bar-baz.md", "bar-baz"),
    ("Plain Name.md", "plain-name"),
])
def test_feature_name_from_file_name(tmp_path: Path, filename: str, feature: str) -> None:
    assert parse(tmp_path, FIVE, name=filename).feature == feature


def test_frontmatter_feature_wins(tmp_path: Path) -> None:
    plan = parse(tmp_path, "---\nfeature: voice\n---\n" + textwrap.dedent(FIVE),
                 name="2025-06-08-foo.md")
    assert plan.feature == "voice"


def test_heading_forms_stream_plain_and_any_level(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        # T
        # Parallel Workstreams
        ## Stream 1: Alpha
        - one
        ## Beta Work (After stream 1)
        - two
        ## Stream 3 - Gamma!
        - three
        # Notes
        ## Not a workstream
        """)
    assert [(ws.name, ws.number) for ws in plan.workstreams] == [
        ("alpha", 1), ("beta-work", 2), ("gamma", 3)]
    assert plan.workstream("beta-work").depends_on == ["alpha"]


def test_tasks_from_bullets_numbers_checkboxes_with_nesting(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        ## Workstreams
        ### A
        - plain bullet
        * star bullet
        - [ ] open box
        - [x] ticked box
        1. numbered
        2) numbered paren
           - nested under numbered
             - deeper
        """)
    assert plan.workstreams[0].tasks == [
        "plain bullet", "star bullet", "open box", "ticked box", "numbered",
        "numbered paren\n- nested under numbered\n  - deeper"]


def test_fields_as_subheadings_and_labels(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        ## Workstreams
        ### Workstream 1: Api
        #### Goal
        Serve the thing.
        #### Files to modify:
        - `api/server.py` - new
        - api/routes/
        #### Dependencies: none
        #### Tasks:
        - write it
        ### Workstream 2: Web
        Objective: show the thing
        Files: web/app.ts, web/styles.css
        Depends on:
        - Api
        Branch: team/web-ui
        Tasks:
        1. render
        """)
    api, web = plan.workstreams
    assert (api.goal, api.files, api.depends_on, api.tasks) == (
        "Serve the thing.", ["api/server.py", "api/routes/"], [], ["write it"])
    assert (web.goal, web.files, web.depends_on, web.branch, web.tasks) == (
        "show the thing", ["web/app.ts", "web/styles.css"], ["api"], "team/web-ui", ["render"])


def test_label_list_items_and_bold_colon_inside(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        ## Workstreams
        ### One
        - **Goal:** do one
        - **Files**:
          - `one/**`
        - real task
        ### Two
        **Depends on**: 1
        """)
    one, two = plan.workstreams
    assert (one.goal, one.files, one.tasks) == ("do one", ["one/**"], ["real task"])
    assert two.depends_on == ["one"]
    assert two.goal == "Two"  # no goal and no text: the title stands in
    assert PlanWarning(line=7, message="two has no tasks; the worker only gets its goal") in \
        plan.warnings


@pytest.mark.parametrize(("text", "expected"), [
    ("Depends on: 2, 3", ["b", "c"]),
    ("Depends on: workstreams 2 to 3", ["b", "c"]),
    ("After: 1 and 3", ["a", "c"]),
    ("Dependencies: `b`", ["b"]),
    ("Dependencies: needs the B work and c", ["b", "c"]),
    ("Dependencies: None", []),
    ("Dependencies: can start immediately", []),
])
def test_dependency_forms(tmp_path: Path, text: str, expected: list[str]) -> None:
    plan = parse(tmp_path, f"## Workstreams\n### A\n- x\n### B\n- y\n### C\n- z\n### D\n"
                           f"{text}\n- w\n")
    assert plan.workstream("d").depends_on == expected
    assert plan.workstream("d").dependency_note is None


def test_free_text_dependency_is_kept_as_a_note(tmp_path: Path) -> None:
    plan = parse(tmp_path, "## Workstreams\n### A\n- x\n### B\n"
                           "Depends on: the design review in RFC 42\n- y\n")
    assert plan.workstream("b").depends_on == []
    assert plan.workstream("b").dependency_note == "the design review in RFC 42"


def test_spec_text_is_kept_raw_including_jinja_and_code(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        ## Workstreams
        ### A
        - render {{ user.name }} and {% raw %}
        ```
        # not a heading
        ```
        ### B
        - y
        """)
    assert plan.workstreams[0].tasks == ["render {{ user.name }} and {% raw %}"]
    assert "# not a heading" in plan.workstreams[0].raw
    assert [ws.name for ws in plan.workstreams] == ["a", "b"]


def test_reserved_and_odd_titles_get_safe_slugs(tmp_path: Path) -> None:
    plan = parse(tmp_path, "## Workstreams\n### Integration\n- x\n### Logs!\n- y\n"
                           "### 🚀\n- z\n### ../../etc -rf\n- w\n")
    assert [ws.name for ws in plan.workstreams] == [
        "integration-ws", "logs-ws", "ws-3", "etc-rf"]


def test_a_workstream_titled_like_a_feature_folder_entry_is_renamed(tmp_path: Path) -> None:
    """Regression: "Results" became `results`, the folder where every RESULTS.md is kept."""
    plan = parse(tmp_path, "## Workstreams\n### Results\n- x\n### Api\n- y\n")
    assert [ws.name for ws in plan.workstreams] == ["results-ws", "api"]


def test_overlapping_ownership_is_a_warning(tmp_path: Path) -> None:
    plan = parse(tmp_path, "## Workstreams\n### A\nFiles: `app/**`\n- x\n"
                           "### B\nFiles: `app/cli/main.py`, `docs/`\n- y\n"
                           "### C\nFiles: `docs/guide.md`\n- z\n")
    assert plan.warnings == [
        PlanWarning(line=5, message="a and b both own app/** ~ app/cli/main.py: expect merge "
                    "conflicts there"),
        PlanWarning(line=8, message="b and c both own docs/ ~ docs/guide.md: expect merge "
                    "conflicts there")]


def test_frontmatter_settings_and_overrides(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        ---
        base: main
        model: opus
        setup: make deps
        verify: make test
        max_parallel: 2
        budget_usd: 12.5
        permission_mode: plan
        allowed_tools: [Read, Edit]
        workstreams:
          b:
            max_turns: 30
            verify: pytest -q tests/b
        ---
        ## Workstreams
        ### A
        - x
        ### B
        - y
        """)
    assert (plan.base, plan.setup, plan.verify, plan.max_parallel, plan.budget_usd) == (
        "main", "make deps", "make test", 2, 12.5)
    assert plan.agent.model == "opus" and plan.agent.allowed_tools == ["Read", "Edit"]
    assert plan.workstream("b").agent.max_turns == 30
    assert plan.workstream("b").verify == "pytest -q tests/b"


# --- errors: each names the file and line ---------------------------------------------

def test_cycle_names_the_cycle(tmp_path: Path) -> None:
    message = error_of(tmp_path, "# x\n## Workstreams\n### A\nDepends on: C\n### B\n"
                                 "Depends on: A\n### C\nDepends on: B\n")
    assert message == ("spec.md:3: dependency cycle: a -> c -> b -> a; "
                       "remove one of these dependencies")


def test_self_dependency_is_a_cycle(tmp_path: Path) -> None:
    message = error_of(tmp_path, "## Workstreams\n### A\n- x\n### B (after workstream 2)\n")
    assert message == ("spec.md:4: dependency cycle: b -> b; a workstream cannot depend on "
                       "itself: remove that dependency")


def test_unknown_number_reference(tmp_path: Path) -> None:
    message = error_of(tmp_path, "## Workstreams\n### A\n- x\n### B\n\n**Depends on**: 7\n")
    assert message == ("spec.md:6: unknown dependency workstream 7 in '7'; "
                       "refer to workstreams by number or name")


def test_unknown_quoted_reference_in_a_list(tmp_path: Path) -> None:
    message = error_of(tmp_path, "---\nbase: main\n---\n## Workstreams\n### A\n"
                                 "Dependencies:\n- `nope`\n")
    assert message == ("spec.md:7: unknown dependency `nope` in '`nope`'; "
                       "refer to workstreams by number or name")


def test_duplicate_workstream(tmp_path: Path) -> None:
    message = error_of(tmp_path, "## Workstreams\n### Api\n- x\n### API\n- y\n")
    assert message == ("spec.md:4: duplicate workstream 'api': line 2 (`### Api`) and line 4 "
                       "(`### API`); give each workstream a distinct title")


def test_duplicate_number(tmp_path: Path) -> None:
    message = error_of(tmp_path, "## Workstreams\n### Workstream 1: A\n### Workstream 1: B\n")
    assert message.startswith("spec.md:3: workstream number 1 is used twice")


def test_no_workstreams_says_how_to_add_them(tmp_path: Path) -> None:
    message = error_of(tmp_path, "# A PRD\n\nJust prose.\n## Goals\n- be great\n")
    assert message == (
        "spec.md: no workstreams found: add a '## Workstreams' section with one "
        "'### Workstream N: Title' heading per parallel unit, each with a '**Goal**:' line "
        "and task bullets ('dispatch plan SPEC --explain' shows how each heading was read)")


@pytest.mark.parametrize(("frontmatter", "expected"), [
    ("base_port: eighty", "spec.md:2: frontmatter base_port: input should be a valid integer"),
    ("max_parallel: 0", "spec.md:2: frontmatter max_parallel: input should be greater than or "
                        "equal to 1"),
    ("modle: opus", "spec.md:2: frontmatter modle: unknown key"),
    ("base: main\nworkstreams:\n  a:\n    max_turns: lots",
     "spec.md:5: frontmatter workstreams.a.max_turns: input should be a valid integer"),
    ("- just\n- a list", "spec.md:2: frontmatter must be a mapping of `key: value` lines"),
    ("key: [unclosed", "spec.md:2: frontmatter is not valid YAML (expected ',' or ']', but got "
                       "'<stream end>')"),
    ("feature: ../etc", "spec.md:2: frontmatter feature: invalid feature name '../etc': use "
                        "letters a-z, digits, '.', '_', '-', starting with a letter or digit"),
    ("workstreams:\n  zzz: {model: opus}",
     "spec.md:3: frontmatter workstreams.zzz: no workstream is named 'zzz' (the names are: a)"),
])
def test_frontmatter_errors(tmp_path: Path, frontmatter: str, expected: str) -> None:
    assert error_of(tmp_path, f"---\n{frontmatter}\n---\n## Workstreams\n### A\n- x\n") == expected


def test_unterminated_frontmatter(tmp_path: Path) -> None:
    assert error_of(tmp_path, "---\nbase: main\n## Workstreams\n") == (
        "spec.md:1: frontmatter starts with '---' but never ends; close it with a line '---'")


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    assert error_of(tmp_path, b"# ok\n\nbad \xff byte\n") == (
        "spec.md:3: spec is not UTF-8 text; save it as UTF-8")


def test_binary_file(tmp_path: Path) -> None:
    assert error_of(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00") == (
        "spec.md:3: spec is binary (holds NUL bytes), not markdown text")


def test_huge_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, b"# big\n" + b"x" * (3 * 1024 * 1024))
    assert message == ("spec.md: spec is 3,145,734 bytes; the limit is 2 MB — "
                       "is this the right file?")


def test_empty_file_has_no_workstreams(tmp_path: Path) -> None:
    assert "no workstreams found" in error_of(tmp_path, "")


def test_invalid_branch_override(tmp_path: Path) -> None:
    assert error_of(tmp_path, "## Workstreams\n### A\nBranch: bad..name\n") == (
        "spec.md:2: branch 'bad..name' of workstream 'a' is not a valid git branch name")


def test_missing_file_is_a_dispatch_error(tmp_path: Path) -> None:
    from dispatch.spec.source import resolve_spec_path

    with pytest.raises(DispatchError, match="no such spec file"):
        resolve_spec_path("@specs/missing.md", tmp_path)


def test_at_prefix_and_repo_root_fallback(tmp_path: Path) -> None:
    from dispatch.spec.source import resolve_spec_path

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "x.md").write_text("x")
    (tmp_path / "sub").mkdir()
    found = resolve_spec_path("@specs/x.md", tmp_path / "sub", repo_root=tmp_path)
    assert found == (tmp_path / "specs" / "x.md").resolve()
    assert resolve_spec_path(str(found), tmp_path / "sub") == found
