#!/bin/sh
# compose.cluster.yaml: the standby. On its first start it copies the primary (pg_basebackup over
# TLS, the primary's certificate verified) and from then on streams its WAL; the primary turns
# synchronous commit on once it streams (the postgres-sync one-shot). Promotion is the failover
# manager's or the operator's (docs/scale-out.md): this script never promotes.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
: "${PGPASSWORD:?set PGPASSWORD to the replication role's password}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup --host=postgres --username=rpm_replicator --pgdata="$PGDATA" \
      --wal-method=stream --write-recovery-conf --checkpoint=fast \
      "--dbname=sslmode=verify-full sslrootcert=/certs/ca.crt application_name=standby"; do
    echo "waiting for the primary"
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 700 "$PGDATA"
fi
exec postgres -c ssl=on -c ssl_cert_file=/certs/server.crt -c ssl_key_file=/certs/postgres.key \
  -c hot_standby=on
