"""A markdown spec -> a validated Plan: source, blocks, fields, dependencies, names, the
model and how a plan is shown."""
