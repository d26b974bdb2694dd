"""Running Claude sessions: the claude command line, launch, one run, reading its result,
state transitions, the done check, scheduling, the supervisor and its client, rehearsal."""
