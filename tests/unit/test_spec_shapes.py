"""Issue 16: the misreadings of real-world spec documents, each as a regression case built on
the shape that caused it (not on any one document), and the warnings that carry a line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dispatch.core.errors import SpecError
from dispatch.spec.parse import parse_spec
from dispatch.state.plan import Plan, PlanWarning


def parse(tmp_path: Path, text: str) -> Plan:
    path = tmp_path / "spec.md"
    path.write_text(textwrap.dedent(text))
    return parse_spec(path, display="spec.md")


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse(tmp_path, text)
    return caught.value.message


def names(plan: Plan) -> list[str]:
    return [ws.name for ws in plan.workstreams]


# A planning document: its title holds the word, its streams are level-2 sections, and the
# sections around them are about the work, not work to do.
PLANNING = """\
    # Development Workstreams

    ## Worktree Locations
    - `../app-core` — Stream 1
    - `../app-ui` — Stream 2

    ## Stream 1: Core Engine
    Builds the engine that parses the input.
    **Files**: `core/**`
    - [ ] Parser
    - [ ] Evaluator

    ## Stream 2: User Interface
    **Files**: `ui/**`
    **Depends on**: Stream 1
    - [ ] Screens

    ## Working with Worktrees
    ```bash
    git worktree add ../app-core -b stream-1
    ```
    - Commit often
    - Rebase on main every morning

    ## Timeline
    ### Week 1
    - Stream 1 parser
    ### Week 2
    - Stream 2 screens

    ## Notes
    - Stream 2 will need the other streams' basic implementations.
    """


def test_a_document_title_with_the_word_is_not_the_workstreams_section(
        tmp_path: Path) -> None:
    """Was: the locations list became workstream 1 and 'Stream 1' collided with it."""
    plan = parse(tmp_path, PLANNING)
    assert names(plan) == ["core-engine", "user-interface"]
    assert [ws.number for ws in plan.workstreams] == [1, 2]
    assert plan.workstream("user-interface").depends_on == ["core-engine"]


def test_sections_after_top_level_streams_stay_prose(tmp_path: Path) -> None:
    """Was: 'Working with Worktrees', 'Timeline' and 'Notes' became three paid sessions."""
    without_locations = PLANNING.replace(
        "    ## Worktree Locations\n    - `../app-core` — Stream 1\n"
        "    - `../app-ui` — Stream 2\n\n", "")
    plan = parse(tmp_path, without_locations)
    assert names(plan) == ["core-engine", "user-interface"]
    assert plan.workstream("user-interface").tasks == ["Screens"]  # not Week 1, Week 2


def test_an_unknown_field_is_a_note_and_the_description_is_the_goal(tmp_path: Path) -> None:
    """Was: `**Worktree**: ../path` became every stream's goal; its description was lost."""
    plan = parse(tmp_path, """\
        # Plan
        ## Stream 1: Core
        **Worktree**: `../app-core`
        **Owner**: Ada

        Builds the engine that
        parses the input.

        - [ ] Parser
        ## Stream 2: Web
        **Worktree**: `../app-web`
        - **Goal**: show it
        """)
    core, web = plan.workstreams
    assert core.goal == "Builds the engine that parses the input."
    assert core.notes == ["Worktree: `../app-core`", "Owner: Ada"]
    assert core.tasks == ["Parser"] and core.files == []
    assert (web.goal, web.notes) == ("show it", ["Worktree: `../app-web`"])


def test_a_dependency_naming_no_workstream_is_a_warning_with_its_line(tmp_path: Path) -> None:
    """Was: kept as a note without a word, so a typo lost an ordering."""
    plan = parse(tmp_path, """\
        ## Workstreams
        ### Alpha
        **Files**: `a/**`
        - x
        ### Beta
        **Files**: `b/**`
        **Depends on**: Zeta
        - y
        """)
    assert plan.workstream("beta").depends_on == []
    assert plan.workstream("beta").dependency_note == "Zeta"
    assert plan.warnings == [PlanWarning(
        line=7, message="dependency 'Zeta' of workstream 'beta' names no workstream: it is "
        "kept as a note; refer to a workstream by its number or name if it means one")]


def test_a_plan_where_no_workstream_owns_files_warns_once(tmp_path: Path) -> None:
    """Was: silent, though the overlap warning and the scope check then do nothing."""
    plan = parse(tmp_path, "## Workstreams\n### A\n- x\n### B\n- y\n### C\n- z\n")
    assert plan.warnings == [PlanWarning(
        line=None, message="no workstream lists its files (a '**Files**:' line): dispatch "
        "can neither warn about overlapping files nor check that each session kept to its "
        "own")]


def test_a_duplicate_number_names_both_places(tmp_path: Path) -> None:
    """Was: only the second line, so the first (a section read as a stream) was a riddle."""
    message = error_of(tmp_path, """\
        # Plan
        ## Stream 1: Core
        - x
        ## Stream 2: Web
        - y
        ## Stream 1: Docs
        - z
        """)
    assert message == ("spec.md:6: workstream number 1 is used twice: line 2 "
                       "(`## Stream 1: Core`) and line 6 (`## Stream 1: Docs`); number the "
                       "workstreams 1, 2, 3, ...")


def test_a_duplicate_name_names_both_places(tmp_path: Path) -> None:
    message = error_of(tmp_path, "## Workstreams\n### Api\n- x\n### API\n- y\n")
    assert message == ("spec.md:4: duplicate workstream 'api': line 2 (`### Api`) and line 4 "
                       "(`### API`); give each workstream a distinct title")


def test_warnings_of_a_plan_stored_before_they_had_lines_still_load() -> None:
    """sessions.json and plan.json written before issue 16 hold warnings as strings."""
    old = {"feature": "f", "title": "f", "spec": "s.md", "warnings": ["a and b both own x"],
           "workstreams": [{"name": "a", "title": "A", "number": 1, "goal": "g", "line": 3,
                            "raw": "### A\n"}]}
    plan = Plan.model_validate_json(json.dumps(old))
    assert plan.warnings == [PlanWarning(line=None, message="a and b both own x")]
    assert plan.workstreams[0].notes == []


def test_tasks_under_a_list_label_are_one_each_with_their_own_details(tmp_path: Path) -> None:
    """Was: each nested task also held the tasks after it ('a\\n- [ ] b', 'b')."""
    plan = parse(tmp_path, """\
        ## Workstreams
        ### Parser
        - **Files**: `parse/**`
        - **Tasks**:
          - [ ] Headings
            - ATX and setext
          - [ ] Tables
        - **Worktree**: `../parse`
          - created by hand
        """)
    parser = plan.workstreams[0]
    assert parser.tasks == ["Headings\n- ATX and setext", "Tables"]
    assert parser.notes == ["Worktree: `../parse`", "Worktree: created by hand"]


def test_streams_as_level_one_sections_are_not_taken_for_a_title(tmp_path: Path) -> None:
    plan = parse(tmp_path, "# Stream 1: Core\n- a\n# Stream 2: Web\n- b\n# Notes\n- c\n")
    assert names(plan) == ["core", "web"]


def test_a_notes_sub_section_holds_notes_not_tasks(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        ## Workstreams
        ### Api
        **Goal**: serve
        #### Risks
        The provider may rate-limit us.
        - Quotas are per account
        - [ ] Ask for a higher quota
        #### Backend changes
        - Add the route
        """)
    api = plan.workstreams[0]
    assert api.notes == ["Risks: The provider may rate-limit us.",
                         "Risks: Quotas are per account"]
    assert api.tasks == ["Ask for a higher quota", "Add the route"]


def test_explain_and_notes_show_control_characters_as_escapes(tmp_path: Path) -> None:
    from dispatch.spec.explain import explain_spec
    from dispatch.spec.view import notes_lines

    path = tmp_path / "spec.md"
    path.write_text("## Workstreams\n### Api \x1b]0;owned\x07\n**Owner**: \x1b[2J\n- x\n")
    assert explain_spec(path, display="spec.md")[1] == (
        "line 2  ### Api \\x1b]0;owned\\x07  → workstream 'api-0-owned' (a sub-heading of "
        "\"Workstreams\"; no Goal field and no text: the title is the goal)")
    assert notes_lines(parse_spec(path, display="spec.md")) == ["api-0-owned: Owner: \\x1b[2J"]
