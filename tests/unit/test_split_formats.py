"""Each input format of `dispatch split --items`, read from a small sample of the tool's own
documented output: detected without --input-format, and parsed into the same items as when
it is named."""

from __future__ import annotations

import json

import pytest

from dispatch.commands.split import formats
from dispatch.core.errors import DispatchError

FILES = {"app/main.py", "app/util.py", "src/a.js"}

FLAKE8 = """\
app/main.py:1:1: F401 'os' imported but unused
app/main.py:10:80: E501 line too long (88 > 79 characters)
app/util.py:3:1: W391 blank line at end of file
"""
RUFF_CONCISE = """\
app/main.py:1:8: F401 [*] `os` imported but unused
app/util.py:3:5: F841 Local variable `x` is assigned to but never used
Found 2 errors.
[*] 1 fixable with the `--fix` option.
"""
RUFF_FULL = """\
F401 [*] `os` imported but unused
 --> app/main.py:1:8
  |
1 | import os
  |        ^^
  |
help: Remove unused import: `os`

F841 Local variable `x` is assigned to but never used
 --> app/util.py:3:5
  |
3 |     x = 1
  |     ^
  |
help: Remove assignment to unused variable `x`

Found 2 errors.
[*] 1 fixable with the `--fix` option.
"""
RUFF_JSON = json.dumps([
    {"cell": None, "code": "F401", "end_location": {"column": 10, "row": 1},
     "filename": "/repo/app/main.py", "fix": {"applicability": "safe", "edits": [],
                                              "message": "Remove unused import: `os`"},
     "location": {"column": 8, "row": 1}, "message": "`os` imported but unused",
     "noqa_row": 1, "url": "https://docs.astral.sh/ruff/rules/unused-import"},
    {"cell": None, "code": "F841", "end_location": {"column": 6, "row": 3},
     "filename": "/repo/app/util.py", "fix": None, "location": {"column": 5, "row": 3},
     "message": "Local variable `x` is assigned to but never used", "noqa_row": 3,
     "url": "https://docs.astral.sh/ruff/rules/unused-variable"}], indent=2)
PYLINT = """\
************* Module app.main
app/main.py:1:0: C0114: Missing module docstring (missing-module-docstring)
app/main.py:3:0: W0611: Unused import os (unused-import)
************* Module app.util
app/util.py:7:4: E0602: Undefined variable 'foo' (undefined-variable)

------------------------------------------------------------------
Your code has been rated at 2.50/10 (previous run: 2.50/10, +0.00)
"""
PYLINT_JSON = json.dumps([
    {"type": "convention", "module": "app.main", "obj": "", "line": 1, "column": 0,
     "endLine": None, "endColumn": None, "path": "app/main.py",
     "symbol": "missing-module-docstring", "message": "Missing module docstring",
     "message-id": "C0114"},
    {"type": "error", "module": "app.util", "obj": "f", "line": 7, "column": 4,
     "endLine": 7, "endColumn": 7, "path": "app/util.py", "symbol": "undefined-variable",
     "message": "Undefined variable 'foo'", "message-id": "E0602"}], indent=4)
PYLINT_JSON2 = json.dumps({
    "messages": [{"type": "warning", "symbol": "unused-import", "message": "Unused import os",
                  "messageId": "W0611", "confidence": "UNDEFINED", "module": "app.main",
                  "obj": "", "line": 3, "column": 0, "endLine": 3, "endColumn": 9,
                  "path": "app/main.py", "absolutePath": "/repo/app/main.py"}],
    "statistics": {"messageTypeCount": {"fatal": 0, "error": 0, "warning": 1,
                                        "refactor": 0, "convention": 0, "info": 0},
                   "modulesLinted": 2, "score": 9.5}})
ESLINT_JSON = json.dumps([
    {"filePath": "/repo/src/a.js", "messages": [
        {"ruleId": "no-unused-vars", "severity": 2,
         "message": "'x' is assigned a value but never used.", "line": 1, "column": 7,
         "nodeType": "Identifier", "messageId": "unusedVar", "endLine": 1, "endColumn": 8},
        {"ruleId": "semi", "severity": 1, "message": "Missing semicolon.", "line": 2,
         "column": 10, "nodeType": "ExpressionStatement", "messageId": "missingSemi",
         "endLine": 3, "endColumn": 1, "fix": {"range": [20, 20], "text": ";"}}],
     "suppressedMessages": [], "errorCount": 1, "fatalErrorCount": 0, "warningCount": 1,
     "fixableErrorCount": 0, "fixableWarningCount": 1, "source": "const x = 1\nfoo()\n",
     "usedDeprecatedRules": []},
    {"filePath": "/repo/src/clean.js", "messages": [], "suppressedMessages": [],
     "errorCount": 0, "fatalErrorCount": 0, "warningCount": 0, "fixableErrorCount": 0,
     "fixableWarningCount": 0, "usedDeprecatedRules": []}])
ESLINT = """\

/repo/src/a.js
  1:7   error    'x' is assigned a value but never used  no-unused-vars
  2:10  warning  Missing semicolon                        semi

✖ 2 problems (1 error, 1 warning)
  0 errors and 1 warning potentially fixable with the `--fix` option.
"""
MYPY = """\
app/main.py:3: error: Incompatible types in assignment (expression has type "str", \
variable has type "int")  [assignment]
app/main.py:3: note: See https://mypy.readthedocs.io/en/stable/ for more
app/util.py:7:5: error: Name "foo" is not defined  [name-defined]
Found 2 errors in 2 files (checked 3 source files)
"""
MYPY_JSON = "\n".join(json.dumps(o) for o in [
    {"file": "app/main.py", "line": 3, "column": 4, "message": "Incompatible types",
     "hint": None, "code": "assignment", "severity": "error"},
    {"file": "app/util.py", "line": 7, "column": 4, "message": 'Name "foo" is not defined',
     "hint": None, "code": "name-defined", "severity": "error"}])
SARIF = json.dumps({
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [{"tool": {"driver": {"name": "CodeQL", "rules": [{"id": "py/unused-import"}]}},
              "results": [
                  {"ruleId": "py/unused-import", "level": "note",
                   "message": {"text": "Import of 'os' is not used."},
                   "locations": [{"physicalLocation": {
                       "artifactLocation": {"uri": "app/main.py", "uriBaseId": "%SRCROOT%"},
                       "region": {"startLine": 1, "startColumn": 1}}}]},
                  {"ruleId": "py/undefined", "message": {"text": "'foo' is undefined."},
                   "locations": [{"physicalLocation": {
                       "artifactLocation": {"uri": "file:///repo/app/util.py"},
                       "region": {"startLine": 7}}}]}]}]})
FLAKE8_JSON = json.dumps({"app/main.py": [
    {"code": "F401", "filename": "app/main.py", "line_number": 1, "column_number": 1,
     "text": "'os' imported but unused", "physical_line": "import os\n"}],
    "app/util.py": []})
LIST = "app/main.py\napp/util.py\n"
NOTES = "app/main.py:3: rename `f` to `parse`\napp/util.py: add docstrings\n"

CASES = [
    ("flake8", FLAKE8, [("app/main.py", 1, "F401", "error", "'os' imported but unused"),
                        ("app/main.py", 10, "E501", "error",
                         "line too long (88 > 79 characters)"),
                        ("app/util.py", 3, "W391", "warning", "blank line at end of file")]),
    ("ruff", RUFF_CONCISE, [("app/main.py", 1, "F401", "error", "`os` imported but unused"),
                            ("app/util.py", 3, "F841", "error",
                             "Local variable `x` is assigned to but never used")]),
    ("ruff", RUFF_FULL, [("app/main.py", 1, "F401", "error", "`os` imported but unused"),
                         ("app/util.py", 3, "F841", "error",
                          "Local variable `x` is assigned to but never used")]),
    ("ruff-json", RUFF_JSON, [("/repo/app/main.py", 1, "F401", "error",
                               "`os` imported but unused"),
                              ("/repo/app/util.py", 3, "F841", "error",
                               "Local variable `x` is assigned to but never used")]),
    ("pylint", PYLINT, [("app/main.py", 1, "C0114", "convention",
                         "Missing module docstring (missing-module-docstring)"),
                        ("app/main.py", 3, "W0611", "warning",
                         "Unused import os (unused-import)"),
                        ("app/util.py", 7, "E0602", "error",
                         "Undefined variable 'foo' (undefined-variable)")]),
    ("pylint-json", PYLINT_JSON, [("app/main.py", 1, "C0114", "convention",
                                   "Missing module docstring (missing-module-docstring)"),
                                  ("app/util.py", 7, "E0602", "error",
                                   "Undefined variable 'foo' (undefined-variable)")]),
    ("pylint-json", PYLINT_JSON2, [("app/main.py", 3, "W0611", "warning",
                                    "Unused import os (unused-import)")]),
    ("eslint-json", ESLINT_JSON, [("/repo/src/a.js", 1, "no-unused-vars", "error",
                                   "'x' is assigned a value but never used."),
                                  ("/repo/src/a.js", 2, "semi", "warning",
                                   "Missing semicolon.")]),
    ("eslint", ESLINT, [("/repo/src/a.js", 1, "no-unused-vars", "error",
                         "'x' is assigned a value but never used"),
                        ("/repo/src/a.js", 2, "semi", "warning", "Missing semicolon")]),
    ("mypy", MYPY, [("app/main.py", 3, "assignment", "error", "Incompatible types in "
                     "assignment (expression has type \"str\", variable has type \"int\")"),
                    ("app/util.py", 7, "name-defined", "error", 'Name "foo" is not defined')]),
    ("jsonl", MYPY_JSON, [("app/main.py", 3, "assignment", "error", "Incompatible types"),
                          ("app/util.py", 7, "name-defined", "error",
                           'Name "foo" is not defined')]),
    ("sarif", SARIF, [("app/main.py", 1, "py/unused-import", "note",
                       "Import of 'os' is not used."),
                      ("file:///repo/app/util.py", 7, "py/undefined", "warning",
                       "'foo' is undefined.")]),
    ("flake8-json", FLAKE8_JSON, [("app/main.py", 1, "F401", "error",
                                   "'os' imported but unused")]),
    ("list", LIST, [("app/main.py", None, None, None, ""),
                    ("app/util.py", None, None, None, "")]),
    ("list", NOTES, [("app/main.py", 3, None, None, "rename `f` to `parse`"),
                     ("app/util.py", None, None, None, "add docstrings")]),
]


def _read(text: str, fmt: str | None) -> tuple[str, list[tuple[object, ...]]]:
    name, items = formats.parse(text, fmt, FILES.__contains__)
    return name, [(i.file, i.line, i.rule, i.severity, i.message) for i in items]


@pytest.mark.parametrize(("fmt", "text", "expected"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_format_is_detected_and_read(fmt: str, text: str,
                                          expected: list[tuple[object, ...]]) -> None:
    assert _read(text, None) == (fmt, expected)
    assert _read(text, fmt) == (fmt, expected)


@pytest.mark.parametrize(("text", "fmt", "message"), [
    ("app/main.py\n", "yaml", "unknown input format 'yaml': use one of sarif, ruff-json, "
     "pylint-json, eslint-json, flake8-json, jsonl, ruff, flake8, pylint, mypy, eslint, list"),
    ("", None, "the work list is empty: pass a file with one item per line, or a linter's "
     "output"),
    ("\n  \n", None, "the work list is empty: pass a file with one item per line, or a "
     "linter's output"),
    ("[]", None, "the tool's output holds no findings: nothing to split"),
    ('{"some": "thing"}', None, "this JSON is none of the formats dispatch split reads "
     "(SARIF, ruff, pylint, eslint, flake8, JSON lines); pass --input-format to choose one"),
    ("[1, 2", "ruff-json", "the work list is not valid JSON (line 1): pass --input-format to "
     "read it as another format"),
    ('{"version": "2.1.0", "runs": [{"results": [{"ruleId": "x", "message": {"text": "m"}}]}]}',
     None, "SARIF result 1 (x) has no file location: a split needs each finding's file; drop "
           "such results from the input"),
    ('{"line": 3}\n{"line": 4}\n', None, 'line 1 of the JSON lines has no "file" (or "path", '
     '"filename"): each item must name its file'),
    ("app/main.py\nnot a file at all\n", None, "line 2 of the work list ('not a file at all') "
     "names no file of the repository: each line must start with the path of the file its "
     "work is in (or pass --input-format if this is a tool's output)"),
    (FLAKE8, "ruff-json", "the work list is not valid JSON (line 1): pass --input-format to "
     "read it as another format"),
])
def test_bad_input_is_one_line_saying_what_to_do(text: str, fmt: str | None,
                                                 message: str) -> None:
    with pytest.raises(DispatchError) as caught:
        formats.parse(text, fmt, FILES.__contains__)
    assert caught.value.message == message


@pytest.mark.parametrize(("text", "fmt"), [("All checks passed!\n", "ruff"),
                                           ("Success: no issues found in 3 source files\n",
                                            "mypy")])
def test_a_clean_run_is_read_as_no_items(text: str, fmt: str) -> None:
    assert formats.parse(text, None, FILES.__contains__) == (fmt, [])
