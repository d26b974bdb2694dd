"""Shared basics that know nothing of dispatch's concepts: errors, child processes, a thread map,
the one Jinja environment, and printing (with control characters made visible)."""
