"""Embedded PostgreSQL and MQTT broker, so the demo needs nothing installed."""
