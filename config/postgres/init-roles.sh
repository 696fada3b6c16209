#!/bin/sh
# Run by the postgres image on its first start (mounted into /docker-entrypoint-initdb.d).
set -eu
: "${RPM_DB_OWNER_PASSWORD:?set RPM_DB_OWNER_PASSWORD}"
: "${RPM_DB_APP_PASSWORD:?set RPM_DB_APP_PASSWORD}"
psql --username "$POSTGRES_USER" --dbname postgres \
  -v owner=rpm_owner -v owner_password="$RPM_DB_OWNER_PASSWORD" \
  -v app=rpm_app -v app_password="$RPM_DB_APP_PASSWORD" \
  -v database=rpm \
  -f /rpm-init/roles.sql
