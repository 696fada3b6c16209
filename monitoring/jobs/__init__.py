"""Scheduled work: partition upkeep now; missing-data checks, escalation and rollups join here."""
