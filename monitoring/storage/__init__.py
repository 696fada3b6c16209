"""Storage: PostgreSQL engine and sessions, ORM models, migrations, embedded server."""
