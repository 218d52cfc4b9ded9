#!/bin/sh
# Runs once, when the postgres container creates its data directory (docker-entrypoint-initdb.d), as the
# superuser, which only administrators use. It creates Warden's own login (no superuser: CREATEROLE, and ADMIN
# OPTION on the roles the policy maps identities to) and those roles. See "Least privilege" in README.md.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v warden_password="$DEV_DB_PASSWORD" <<'SQL'
CREATE ROLE warden LOGIN CREATEROLE PASSWORD :'warden_password';
CREATE ROLE app_readonly NOLOGIN;
CREATE ROLE app_readwrite NOLOGIN;
CREATE ROLE app_admin NOLOGIN;
GRANT app_readonly, app_readwrite, app_admin TO warden WITH ADMIN OPTION;
-- Ends an identity's statement that ignores a cancel when DDL committed through Warden reaches it (README).
GRANT pg_signal_backend TO warden;
GRANT USAGE ON SCHEMA public TO app_readonly, app_readwrite;
GRANT USAGE, CREATE ON SCHEMA public TO app_admin;
-- Tables made later by app_admin (or ALTER TABLE ... OWNER TO app_admin) are readable and writable as mapped.
ALTER DEFAULT PRIVILEGES FOR ROLE app_admin IN SCHEMA public GRANT SELECT ON TABLES TO app_readonly;
ALTER DEFAULT PRIVILEGES FOR ROLE app_admin IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_readwrite;
SQL
