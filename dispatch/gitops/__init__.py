"""The one place git runs: the runner, refs, worktrees, merges, history, remotes and the
repository guards. GitPython stays inside this folder."""
