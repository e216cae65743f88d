"""The HTTP API: routes per resource, shared dependencies, the error handler."""
