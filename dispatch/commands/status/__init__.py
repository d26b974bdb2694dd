"""`dispatch status`: collect (state + git, no pydantic), view (JSON and table), show."""
