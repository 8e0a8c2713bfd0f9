"""Build-time generators of the repository's documentation, run by hand and kept in sync by tests:
`make openapi` (openapi.py: docs/openapi.json from the API functions' routes) and `make diagram`
(diagram.py: README.md's state machine diagram from statemachine/export.asl.json); `make scan` runs
scan_templates.py (template.yaml SAM-transformed by sam_transform.py, for the scanners). None is part
of the Lambda layer or of the local stack."""
