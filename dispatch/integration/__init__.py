"""Merging workstreams into the integration branch: the merge queue, the integration
worktree, conflict prediction, the report, and branches dispatch did not create."""
