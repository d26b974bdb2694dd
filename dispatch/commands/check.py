"""`dispatch check`: predict conflicts (nothing is merged) and show the matrix and the
out-of-scope changes."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.core.table import Column, Table
from dispatch.integration import merge_queue
from dispatch.integration.conflicts import Prediction
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore


@dataclass
class Checked:
    prediction: Prediction
    names: list[str]  # the workstreams with a branch, in spec order


def check(paths: FeaturePaths) -> Checked:
    state = StateStore(paths).load()
    tips = merge_queue.branch_tips(paths, state, {})
    return Checked(merge_queue.predict(paths, state, tips),
                   [name for name in state.workstreams if name in tips])


COLUMNS = [Column("workstream"), Column("conflicts with", "conflicts with {}"),
           Column("on files", "on {}", wide=True),
           Column("outside its files", "changed outside its files: {}", drop=1)]


def check_table(checked: Checked) -> Table:
    """One row per branch: what it would conflict with (and on which files), and what it
    changed outside the files its workstream owns."""
    prediction = checked.prediction
    table = Table(f"Predicted conflicts ({prediction.base_label}; git merge-tree, nothing "
                  "was merged)", COLUMNS, footer=summary(prediction))
    for name in checked.names:
        if name in prediction.unmergeable:
            continue  # said in the footer: it cannot be merged at all
        others = prediction.conflicts_of(name)
        files = sorted({f for found in others.values() for f in found})
        table.add(name, ", ".join(others) or "none", ", ".join(files),
                  ", ".join(prediction.out_of_scope.get(name, [])))
    return table


def summary(prediction: Prediction) -> list[str]:
    pairs = len(prediction.pairs) + len(prediction.against_base)
    if not pairs and not prediction.unmergeable:
        return [f"no conflicts predicted between any two branches or with "
                f"{prediction.base_label}"]
    lines = [f"{pairs} conflicting pair(s): " + "; ".join(
        [f"{a} × {b} on {', '.join(files)}" for (a, b), files in prediction.pairs.items()] +
        [f"{name} × {prediction.base_label} on {', '.join(files)}"
         for name, files in prediction.against_base.items()])] if pairs else []
    lines += [f"{name} cannot be merged: {problem}"
              for name, problem in prediction.unmergeable.items()]
    return lines
