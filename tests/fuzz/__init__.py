"""Fuzzing the ingestion path: decode, validate, attribute and standardise (``python -m tests.fuzz``)."""
