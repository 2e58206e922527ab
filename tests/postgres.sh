#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on 127.0.0.1 only, its data in a temporary folder.
#
#   tests/postgres.sh start DIR   prints TEST_DATABASE_URL (the role may create databases)
#   tests/postgres.sh stop DIR    stops the server and removes DIR
#
# Uses Debian's server binaries (apt-get install postgresql). As root the server runs as the
# postgres user (it refuses to run as root). Durability is switched off: the data is thrown away.
set -euo pipefail

command=${1:?usage: tests/postgres.sh start|stop DIR}
dir=${2:?usage: tests/postgres.sh start|stop DIR}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ ! -x "$bin/pg_ctl" ]; then
    echo "tests/postgres.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

case "$command" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -s start -o \
        "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
         -c timezone=Pacific/Chatham"
    # trust on 127.0.0.1 as well (initdb -A trust): nothing but this machine can reach the server.
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE col_test LOGIN CREATEDB PASSWORD 'col_test'" \
        -c "CREATE DATABASE col_test OWNER col_test"
    echo "postgresql+psycopg://col_test:col_test@127.0.0.1:$port/col_test"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -s stop
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: tests/postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
