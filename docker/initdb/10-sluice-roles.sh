#!/bin/sh
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d), as
# its superuser: the roles and the database of docs/site-guide.md, passwords read from Docker
# secrets into psql variables (never written to a file or a command line).
set -eu
owner_pw=$(cat /run/secrets/sluice_owner_password)
server_pw=$(cat /run/secrets/sluice_server_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_pw="$owner_pw" -v server_pw="$server_pw" <<'SQL'
-- Owns the schema and runs `sluice db migrate`; adds users too in this small set-up
-- (CREATEROLE, and sluice_admin so that it sees the schema).
CREATE ROLE sluice_owner LOGIN CREATEROLE PASSWORD :'owner_pw';
CREATE ROLE sluice_users NOLOGIN;
CREATE ROLE sluice_admin NOLOGIN;
GRANT sluice_admin TO sluice_owner;
-- The API server: may act as each user (`sluice admin add-user` grants that), nothing else.
CREATE ROLE sluice_server LOGIN PASSWORD :'server_pw';
CREATE DATABASE sluice OWNER sluice_owner;
REVOKE ALL ON DATABASE sluice FROM PUBLIC;
GRANT CONNECT ON DATABASE sluice TO sluice_users, sluice_admin, sluice_server;
SQL
