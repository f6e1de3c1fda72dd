#!/bin/sh
# Run once by the postgres image when its volume is first initialized.
# Two roles besides the image's superuser (used by nothing else):
#   deploychecks_owner  owns the schema and every table; `migrate` runs as it.
#   deploychecks_app    what web, worker and beat use: reads and writes rows,
#                       owns nothing, so it cannot switch off or drop the audit
#                       log's append-only triggers, nor ALTER or TRUNCATE a table.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db="$POSTGRES_DB" \
  -v owner_pw="$DEPLOYCHECKS_OWNER_PASSWORD" \
  -v app_pw="$DEPLOYCHECKS_APP_PASSWORD" <<'SQL'
CREATE ROLE deploychecks_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE deploychecks_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_pw';
ALTER DATABASE :"db" OWNER TO deploychecks_owner;
ALTER SCHEMA public OWNER TO deploychecks_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO deploychecks_app;
-- Whatever the owner creates (every migration), the app may use, and no more.
ALTER DEFAULT PRIVILEGES FOR ROLE deploychecks_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO deploychecks_app;
ALTER DEFAULT PRIVILEGES FOR ROLE deploychecks_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO deploychecks_app;
SQL
