"""REST API of the insights."""
