"""Nightscout-compatible uploads: CGM apps (xDrip+, AndroidAPS, ...) speak Nightscout's REST API
to ``/ns/<device serial>/``; their entries become readings of that device on the same path as
MQTT readings (the broker, ingestion, detection)."""
