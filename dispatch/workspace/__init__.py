"""Making a workstream's worktree ready: the pre-flight check, provisioning, .env and ports,
setup and verify commands, the working files in .workstream/, and the briefings."""
