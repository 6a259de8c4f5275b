# A throwaway PostgreSQL primary and a streaming standby (pg_basebackup -R) in one temporary
# folder, on loopback, run as the non-root `postgres` user when we are root (as lib/pg.sh does).
# Sourced; needs lib/deps.sh and lib/pg.sh. The two nodes live in $PG_PAIR_TMP/node1 and node2 on
# ports PG_PORT1 and PG_PORT2; node1 starts as the primary. After start_pg_pair: PG_PAIR_URL (the
# multi-host URL with target_session_attrs=read-write), PG_BIN, PG_PAIR_TMP, PG_PORT1, PG_PORT2.
# The caller must call stop_pg_pair (scripts set a trap). Every function below also works in a
# fresh shell that has sourced these files and has PG_BIN, PG_PAIR_TMP, PG_PORT1, PG_PORT2 set
# (the Python drivers call them that way).

_pg_pair_as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_pg_pair_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pg_pair_start_node <n>: starts node n (1 or 2) on its port, whatever its role.
pg_pair_start_node() {
    local n=$1 port
    port=$(eval echo "\$PG_PORT$n")
    _pg_pair_as "$PG_BIN/pg_ctl" -D "$PG_PAIR_TMP/node$n" -l "$PG_PAIR_TMP/node$n.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_PAIR_TMP -c max_connections=400 -c fsync=off" \
        start >/dev/null
}

# pg_pair_stop_node <n>: stops node n at once (SIGQUIT, as a crash or a fenced failover would).
pg_pair_stop_node() {
    _pg_pair_as "$PG_BIN/pg_ctl" -D "$PG_PAIR_TMP/node$1" -m immediate -w stop >/dev/null 2>&1 || true
}

# pg_pair_make_standby <n> <primary-n>: replaces node n by a fresh streaming standby of node
# primary-n (pg_basebackup -R: standby.signal and primary_conninfo), starts it and waits until
# the primary sees it streaming.
pg_pair_make_standby() {
    local n=$1 primary=$2 primary_port
    primary_port=$(eval echo "\$PG_PORT$primary")
    pg_pair_stop_node "$n"
    rm -rf "$PG_PAIR_TMP/node$n"
    _pg_pair_as "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$PG_PAIR_TMP/node$n" \
        -R -X stream -c fast >>"$PG_PAIR_TMP/basebackup.log" 2>&1 || { cat "$PG_PAIR_TMP/basebackup.log" >&2; return 1; }
    pg_pair_start_node "$n"
    local i
    for i in $(seq 1 600); do
        [ "$(_pg_pair_as "$PG_BIN/psql" -h 127.0.0.1 -p "$primary_port" -U postgres -d postgres -Atc \
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null)" = 1 ] && return 0
        sleep 0.1
    done
    echo "standby node$n never started streaming from node$primary" >&2
    return 1
}

# pg_pair_promote <n>: promotes node n without waiting (pg_ctl promote -W).
pg_pair_promote() {
    _pg_pair_as "$PG_BIN/pg_ctl" -D "$PG_PAIR_TMP/node$1" -W promote >/dev/null
}

start_pg_pair() {
    PG_BIN=$(find_pg_bindir)
    PG_PAIR_TMP=$(mktemp -d /tmp/coordinator-pgpair.XXXXXX)
    PG_PORT1=$(_pg_pair_free_port)
    PG_PORT2=$(_pg_pair_free_port)
    while [ "$PG_PORT2" = "$PG_PORT1" ]; do PG_PORT2=$(_pg_pair_free_port); done
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        chown postgres "$PG_PAIR_TMP"
    fi
    # initdb's default pg_hba.conf trusts replication connections from 127.0.0.1.
    _pg_pair_as "$PG_BIN/initdb" -D "$PG_PAIR_TMP/node1" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions \
        >"$PG_PAIR_TMP/initdb.log" 2>&1 || { cat "$PG_PAIR_TMP/initdb.log" >&2; return 1; }
    pg_pair_start_node 1
    pg_pair_make_standby 2 1
    PG_PAIR_URL="postgres://postgres@127.0.0.1:$PG_PORT1,127.0.0.1:$PG_PORT2/postgres?target_session_attrs=read-write"
    export PG_BIN PG_PAIR_TMP PG_PORT1 PG_PORT2 PG_PAIR_URL
}

stop_pg_pair() {
    [ -n "${PG_PAIR_TMP:-}" ] || return 0
    pg_pair_stop_node 1
    pg_pair_stop_node 2
    rm -rf "$PG_PAIR_TMP"
}
