#!/usr/bin/env bash
# A throwaway NATS server with JetStream on loopback for the cluster tests.
#   nats.sh start DIR   start nats-server storing its stream in DIR, print its URL
#   nats.sh stop DIR    stop it
#   nats.sh resume DIR  start it again on the same port, with the stream it had
# Installs Debian's nats-server when the machine has none.
set -euo pipefail
cmd="${1:?start|stop}"
dir="${2:?data directory}"

if ! command -v nats-server >/dev/null || ! command -v curl >/dev/null; then
    echo "installing nats-server (and curl, to ask it whether it is ready) from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq nats-server curl >&2
fi

# Starts the server on $1; true once it answers with JetStream on.
serve_on() {
    local port="$1" monitor=$(( $1 + 1 ))
    nats-server -a 127.0.0.1 -p "$port" -m "$monitor" -js -sd "$dir/jetstream" \
        -l "$dir/log" -P "$dir/pid" </dev/null >/dev/null 2>&1 &
    local pid=$!
    # The server's own health endpoint says when it is ready; until then, poll it.
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$monitor/healthz?js-enabled-only=true" >/dev/null 2>&1; then
            echo "$port" > "$dir/port"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    return 1
}

case "$cmd" in
start)
    mkdir -p "$dir"
    # A random port can be taken by another service on the machine: try a few, and show the
    # server's own words when none starts.
    for _ in 1 2 3 4 5; do
        port=$(( 20000 + RANDOM % 20000 ))
        if serve_on "$port"; then
            echo "nats://127.0.0.1:$port"
            exit 0
        fi
    done
    echo "nats-server did not start; its log:" >&2
    tail -n 20 "$dir/log" >&2 || true
    exit 1
    ;;
stop)
    if [ -f "$dir/pid" ]; then
        pid="$(cat "$dir/pid")"
        kill "$pid" 2>/dev/null || true
        # Gone before this returns, so a resume finds its port free.
        while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
        rm -f "$dir/pid"
    fi
    ;;
resume)
    serve_on "$(cat "$dir/port")" || { echo "nats-server did not start again; its log:" >&2; tail -n 20 "$dir/log" >&2; exit 1; }
    ;;
*)
    echo "usage: nats.sh start|stop|resume DIR" >&2
    exit 2
    ;;
esac
