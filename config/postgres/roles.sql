-- The monitoring service's two database roles and its database (run once, by a superuser, with psql):
--   psql -v owner=rpm_owner -v owner_password=... -v app=rpm_app -v app_password=... -v database=rpm -f roles.sql
-- The owner runs the migrations and owns every table; the runtime role ("app") is what the API,
-- ingestion and the scheduler connect as. `monitoring migrate` grants it exactly what it needs
-- (monitoring/storage/grants.py): rows only, no DDL, no TRUNCATE, the audit log append-only.
-- Neither role is a superuser, may create databases or roles. Existing roles are left as they are.
\set ON_ERROR_STOP on
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION',
              :'owner', :'owner_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION',
              :'app', :'app_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
-- Only the two roles may connect to it.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'database', :'app') \gexec
