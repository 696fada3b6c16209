"""The care-team HTTP API."""
