"""Alerts: findings become alerts, one active alert per patient and type, every change recorded."""
