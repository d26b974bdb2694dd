"""`dispatch check`: predict conflicts (nothing is merged) and show the matrix and the
out-of-scope changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dispatch.integration import merge_queue
from dispatch.integration.conflicts import Prediction
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

if TYPE_CHECKING:
    from rich.console import RenderableType


@dataclass
class Checked:
    prediction: Prediction
    names: list[str]  # the workstreams with a branch, in spec order


def check(paths: FeaturePaths) -> Checked:
    state = StateStore(paths).load()
    tips = merge_queue.branch_tips(paths, state, {})
    return Checked(merge_queue.predict(paths, state, tips),
                   [name for name in state.workstreams if name in tips])


def matrix(prediction: Prediction, names: list[str]) -> RenderableType:
    from rich.table import Table

    table = Table(title="Predicted conflicts (git merge-tree; nothing was merged)",
                  title_justify="left")
    table.add_column("")
    for index, _ in enumerate(names, start=1):
        table.add_column(str(index), justify="center")
    table.add_column("base", justify="center")
    for row_index, name in enumerate(names, start=1):
        cells = []
        for other in names:
            files = prediction.pairs.get((name, other)) or prediction.pairs.get((other, name))
            cells.append("-" if other == name else ("X" if files else "·"))
        cells.append("X" if name in prediction.against_base else "·")
        table.add_row(f"{row_index} {name}", *cells)
    return table


def details(prediction: Prediction) -> list[str]:
    lines = [f"{a} × {b}: {', '.join(files)}" for (a, b), files in prediction.pairs.items()]
    lines += [f"{name} × {prediction.base_label}: {', '.join(files)}"
              for name, files in prediction.against_base.items()]
    if not lines:
        lines.append(f"no conflicts predicted between any two branches or with "
                     f"{prediction.base_label}")
    lines += [f"{name}: {problem}" for name, problem in prediction.unmergeable.items()]
    lines += [f"{name} changed files outside what it owns: {', '.join(files)}"
              for name, files in prediction.out_of_scope.items()]
    return lines
