# Installs what a fresh Debian machine with Swift lacks to build and run Coordinator:
# libpq (headers and pkg-config file), the PostgreSQL server binaries, and the tools tests
# run (promtool, openssl, curl).
# Sourced by scripts/test and scripts/serve.

ensure_system_packages() {
    local missing=()
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    [ -f /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
    find_pg_bindir >/dev/null 2>&1 || missing+=(postgresql)
    # The metrics test checks /metrics with promtool; the TLS test makes certificates with
    # openssl and talks HTTPS with curl.
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
            echo "missing packages: ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
            return 1
        fi
    fi
    echo "installing: ${missing[*]}" >&2
    ${SUDO:-} apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    # Debian's postgresql package starts a system cluster; we never use it.
}

# Prints the directory holding initdb and pg_ctl.
find_pg_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null)
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    done
    return 1
}
