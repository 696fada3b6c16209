#!/bin/sh
# compose.cluster.yaml: run by the primary's image on its first start, after init-roles.sh.
# The role the standby streams the WAL as, allowed to replicate over TLS only.
set -eu
: "${RPM_DB_REPLICATION_PASSWORD:?set RPM_DB_REPLICATION_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v password="$RPM_DB_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE rpm_replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "hostssl replication rpm_replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
