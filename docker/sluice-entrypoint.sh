#!/bin/sh
# Reads the database password from a file (a Docker secret) into PGPASSWORD, which node-postgres
# reads when the URL has none: the password is then in no URL, no compose file, no command line
# and no image layer.
set -eu
if [ -n "${SLUICE_DB_PASSWORD_FILE:-}" ]; then
  PGPASSWORD=$(cat "$SLUICE_DB_PASSWORD_FILE")
  export PGPASSWORD
fi
exec "$@"
