"""One use case per module, called by the CLI: typed functions that never import typer."""
