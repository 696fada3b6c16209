"""API models: what callers send and get back, one module per domain (apart from ORM and wire models)."""
