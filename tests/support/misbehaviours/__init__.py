"""The misbehaviours of tests/support/misbehaving_worker.py, by what they misuse: what a run
prints (`results`), processes (`processes`), files (`files`), branches and HEAD
(`branches`), the repository (`repository`). Each takes the run's Worker and returns None
(then the run prints a valid success result) or a Reply. `CATALOGUE["good"]` behaves well.

`SPECIAL` ones stay out of the campaign: each would cost a command's timeout there, needs a
moment on purpose, or breaks git for the campaign's own checks; the regression tests
(tests/reliability/test_misbehaving_regressions.py) use them.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.support.misbehaving_worker import Reply, Worker
from tests.support.misbehaviours import branches, files, processes, repository, results

Behaviour = Callable[[Worker], Reply | None]

CATALOGUE: dict[str, Behaviour] = {
    **results.BEHAVIOURS, **processes.BEHAVIOURS, **files.BEHAVIOURS, **branches.BEHAVIOURS,
    **repository.BEHAVIOURS,
}
SPECIAL: dict[str, Behaviour] = {
    **processes.SPECIAL, **files.SPECIAL, **repository.SPECIAL,
}
