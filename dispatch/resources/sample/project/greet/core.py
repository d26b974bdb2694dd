"""Formatting greetings."""


def greet(name: str) -> str:
    return f"Hello, {name.strip() or 'world'}!"
