#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback for the store's conformance suite.
#   postgres.sh start DIR   initialise a cluster in DIR, start it, print its URL
#   postgres.sh stop DIR    stop it
#   postgres.sh resume DIR  start it again, on the same port (a restart test's second half)
# Installs Debian's postgresql when the machine has none.
set -euo pipefail
cmd="${1:?start|stop}"
dir="${2:?data directory}"

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
if [ -z "$bin" ]; then
    echo "installing PostgreSQL from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
fi

# initdb refuses to run as root; the package's postgres user runs the cluster then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U vigil --auth=trust -E UTF8 >/dev/null
    # A random port can be taken by another service on the machine: try a few, and show the
    # server's own words when none starts.
    for _ in 1 2 3 4 5; do
        port=$(( 20000 + RANDOM % 20000 ))
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null; then
            echo "$port" > "$dir/port"
            echo "postgres://vigil@127.0.0.1:$port"
            exit 0
        fi
    done
    echo "PostgreSQL did not start; its log:" >&2
    tail -n 20 "$dir/log" >&2
    exit 1
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
    ;;
resume)
    port="$(cat "$dir/port")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null
    ;;
*)
    echo "usage: postgres.sh start|stop|resume DIR" >&2
    exit 2
    ;;
esac
