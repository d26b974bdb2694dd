"""`dispatch split`: a work list (files, or the findings of a linter) -> a spec whose
workstreams own disjoint files and carry the work as tasks.

`formats` names the input formats and detects them; `text_formats` and `json_formats` parse
them into `items`; `locate` turns the paths tools print into the repository's paths;
`balance` cuts the files into even groups; `spec_text` writes the spec; `run` is the use case.
"""
