# A throwaway PostgreSQL cluster in a temporary folder, run as a non-root user, on loopback.
# Sourced; needs lib/deps.sh. After start_throwaway_pg: PG_URL, PG_BIN, PG_TMP, PG_PORT, PG_AS.
# The caller must call stop_throwaway_pg (scripts set a trap).

start_throwaway_pg() {
    PG_BIN=$(find_pg_bindir)
    PG_TMP=$(mktemp -d /tmp/coordinator-pg.XXXXXX)
    PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
    PG_AS=()
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        chown postgres "$PG_TMP"
        PG_AS=(runuser -u postgres --)
    fi
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions \
        >"$PG_TMP/initdb.log" 2>&1 || { cat "$PG_TMP/initdb.log" >&2; return 1; }
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_TMP -c max_connections=400 -c fsync=off" \
        start >/dev/null
    PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
}

stop_throwaway_pg() {
    [ -n "${PG_TMP:-}" ] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
}
