"""Greetings, formatted."""
