# Source this file: `pg_start` starts a throwaway PostgreSQL server on loopback from the
# distribution's packages and exports CRMCOUNTERS_PG_DSN; `pg_stop` stops it and removes
# its files. When no server can be started, CRMCOUNTERS_PG_SKIP_REASON says why (the
# PostgreSQL tests show it as their skip reason) and the rest of the suite runs as usual.

pg_bin_dir() {
    find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1
}

pg_not_started() {
    echo "postgres: $1; PostgreSQL tests will be skipped" >&2
    export CRMCOUNTERS_PG_SKIP_REASON="no PostgreSQL server could be started: $1"
    unset CRMCOUNTERS_PG_DSN
    return 1
}

pg_start() {
    local bin port
    bin="$(pg_bin_dir)"
    if [ -z "$bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "postgres: installing the postgresql package" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
            >/dev/null 2>&1 || true
        bin="$(pg_bin_dir)"
    fi
    [ -n "$bin" ] || { pg_not_started "no server binaries under /usr/lib/postgresql"; return 1; }
    PG_DIR="$(mktemp -d /tmp/crmcounters-pg.XXXXXX)"
    PG_RUN=()
    if [ "$(id -u)" = 0 ]; then  # the server refuses to run as root
        id postgres >/dev/null 2>&1 || { pg_not_started "running as root without a postgres user"; return 1; }
        chown postgres "$PG_DIR"
        PG_RUN=(runuser -u postgres --)
    fi
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    if ! "${PG_RUN[@]}" "$bin/initdb" -D "$PG_DIR/data" -U crm --auth=trust -E UTF8 --no-locale \
            >"$PG_DIR/initdb.log" 2>&1; then
        pg_not_started "initdb failed: $(tail -n 3 "$PG_DIR/initdb.log" | tr '\n' ' ')"
        return 1
    fi
    if ! "${PG_RUN[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
        pg_not_started "pg_ctl start failed: $(tail -n 3 "$PG_DIR/server.log" | tr '\n' ' ')"
        return 1
    fi
    PG_BIN="$bin"
    export CRMCOUNTERS_PG_DSN="postgresql://crm@127.0.0.1:$port/postgres"
    unset CRMCOUNTERS_PG_SKIP_REASON
    echo "postgres: server $("$bin/postgres" --version) on 127.0.0.1:$port" >&2
}

pg_stop() {
    if [ -n "${PG_BIN:-}" ] && [ -d "${PG_DIR:-}/data" ]; then
        "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "${PG_DIR:-}" ]; then
        rm -rf "$PG_DIR"
    fi
    PG_BIN=""
}
