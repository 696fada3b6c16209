"""Ingestion: MQTT messages in, validated and standardised readings out, nothing lost."""
