"""Build-time generators of the repository's documentation, run by hand and kept in sync by tests:
`make openapi` (openapi.py: docs/openapi.json from the API functions' routes) and `make diagram`
(diagram.py: README.md's state machine diagram from statemachine/export.asl.json). Neither is part
of the Lambda layer nor of the local stack."""
