"""What the running service may do in its database, granted to its own role after every migration.

Two roles: the *owner* runs the migrations and owns every table, function and
sequence; the *runtime* role is what the API, ingestion and the scheduler
connect as. The runtime role gets exactly the table privileges below and
nothing else: no TRUNCATE, no DDL, no trigger changes (only an owner may
``ALTER TABLE``), and on the audit log only INSERT and SELECT. Readings
partitions are created through ``ensure_reading_partitions``, which runs with
its owner's rights (``SECURITY DEFINER``).

Every table of the schema must have a line here; a test checks it, so a new
table is a decision rather than an accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

READ = ("SELECT",)
APPEND = ("SELECT", "INSERT")
WRITE = ("SELECT", "INSERT", "UPDATE")
WRITE_DELETE = ("SELECT", "INSERT", "UPDATE", "DELETE")

RUNTIME_PRIVILEGES: Mapping[str, tuple[str, ...]] = {
    "alembic_version": READ,  # to refuse a schema that is not at head
    "sites": WRITE,
    "care_teams": WRITE,
    "users": WRITE,
    "team_members": ("SELECT", "INSERT", "DELETE"),  # membership changes are add and remove
    "audit_log": APPEND,  # append-only: nobody who runs the service can rewrite history
    "patients": WRITE,
    "care_plan_thresholds": WRITE_DELETE,  # a reset removes the override
    "devices": WRITE,
    "readings": APPEND,  # stored once, never changed
    "dead_letters": APPEND,
    "alerts": WRITE,
    "alert_events": APPEND,
    "detector_checkpoints": WRITE,
    "webhooks": WRITE,
    "webhook_deliveries": WRITE,  # queued by a trigger, then marked delivered or failed
    "patient_glance": WRITE,  # refreshed in place by the panel job
    "bulk_exports": WRITE,  # requested by admins, then claimed and finished by the scheduler
    "nightscout_uploaders": WRITE_DELETE,  # registered, replaced and revoked by admins
    "nightscout_documents": WRITE_DELETE,  # replaced (PUT) and deleted by their uploader
    "ingest_workers": WRITE_DELETE,  # heartbeats of ingestion workers; a stopped one removes its row
    "ingest_leases": WRITE,  # partitions of patients, claimed, renewed and released by workers
}
# Functions the runtime role calls; they run with their owner's rights.
RUNTIME_FUNCTIONS = ("ensure_reading_partitions(timestamptz, timestamptz)",)


class MissingRoleError(RuntimeError):
    """The runtime role to grant to does not exist in the database cluster."""


_ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _quoted(role: str) -> str:
    if not _ROLE_NAME.match(role):
        raise ValueError(f"{role!r} is not a role name this service grants to (letters, digits, _)")
    return f'"{role}"'


async def role_exists(connection: AsyncConnection, role: str) -> bool:
    found = await connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role})
    return found is not None


async def grant_runtime(connection: AsyncConnection, role: str) -> None:
    """Give ``role`` exactly the runtime privileges (revoking anything else it had on the schema)."""
    grantee = _quoted(role)
    if not await role_exists(connection, role):
        raise MissingRoleError(
            f"database role {role!r} does not exist; create it first "
            f"(CREATE ROLE {role} LOGIN PASSWORD '...'), see docs/security.md"
        )
    tables = set(
        await connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(:names)"),
            {"names": list(RUNTIME_PRIVILEGES)},
        )
    )
    await connection.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {grantee}"))
    await connection.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {grantee}"))
    await connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {grantee}"))
    for table, privileges in RUNTIME_PRIVILEGES.items():
        if table in tables:
            await connection.execute(text(f"GRANT {', '.join(privileges)} ON {table} TO {grantee}"))
    # Identity columns draw from sequences; using one is not a way to change data.
    await connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {grantee}"))
    for function in RUNTIME_FUNCTIONS:
        await connection.execute(text(f"GRANT EXECUTE ON FUNCTION {function} TO {grantee}"))


async def runtime_role_problems(connection: AsyncConnection) -> list[str]:
    """Why the connected role should not run the service: it can change the schema or rewrite history."""
    problems: list[str] = []
    row = (
        await connection.execute(
            text(
                "SELECT r.rolname, r.rolsuper, "
                "(SELECT count(*) FROM pg_tables t WHERE t.schemaname = 'public' "
                " AND t.tableowner = r.rolname) AS owned, "
                "has_table_privilege(r.rolname, 'audit_log', 'TRUNCATE') AS can_truncate "
                "FROM pg_roles r WHERE r.rolname = current_user"
            )
        )
    ).one()
    if row.rolsuper:
        problems.append(f"role {row.rolname!r} is a superuser")
    if row.owned:
        problems.append(f"role {row.rolname!r} owns {row.owned} tables (it can alter or drop them)")
    elif row.can_truncate:
        problems.append(f"role {row.rolname!r} may TRUNCATE the audit log")
    return problems
