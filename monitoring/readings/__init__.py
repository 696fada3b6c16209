"""Readings: the stored vital-sign series, written by ingestion and read by detection and the API."""
