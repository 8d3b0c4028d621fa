#!/usr/bin/env bash
# Make sure the real servers the tests use answer on 127.0.0.1, and print the environment the
# tests read (as `export NAME=value` lines). Meant to be sourced through scripts/test.sh:
#
#   eval "$(scripts/peers.sh start)"     # servers up, variables set
#   scripts/peers.sh stop                # stop the servers this script started
#
# PostgreSQL and MariaDB: a server already answering (the project's machines run both) is used
# as is; where none answers, they are installed from Debian's packages (root) and started in
# scratch data directories under target/peers/ on their own ports. A second, private
# PostgreSQL is always started there too: the retry test kills and restarts it.
#
# Every step logs to stderr; stdout carries only the exports.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
peers="$top/target/peers"
mkdir -p "$peers"

log() { printf 'peers: %s\n' "$*" >&2; }

# Wait until TCP port $1 on 127.0.0.1 accepts connections, for at most $2 seconds.
wait_port() {
    local port=$1 deadline=$((SECONDS + $2))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then return 1; fi
        sleep 0.2
    done
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

apt_ready=""
install() {
    if [ "$(id -u)" != 0 ]; then
        log "cannot install $* without root; install them yourself or set the DATACONN_TEST_* URLs"
        return 1
    fi
    if [ -z "$apt_ready" ]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        apt_ready=1
    fi
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$dir" ]; then
        install postgresql >&2 || return 1
        dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$dir"
}

# A scratch PostgreSQL in $peers/$1 on port $2, owned by the postgres user; prints its pg_ctl
# command (for stop/start by the tests).
start_scratch_pg() {
    local name=$1 port=$2 bin dir ctl
    bin=$(pg_bin) || return 1
    dir="$peers/$name"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
        ctl="runuser -u postgres -- $bin/pg_ctl"
    else
        ctl="$bin/pg_ctl"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        mkdir -p "$dir/data"
        [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
        log "initdb $dir/data"
        if [ "$(id -u)" = 0 ]; then
            runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1
        else
            "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1
        fi
    fi
    # TLS with a self-signed certificate, so that the rustls path of the driver is exercised.
    local tls=""
    if command -v openssl >/dev/null 2>&1; then
        if [ ! -f "$dir/server.key" ]; then
            openssl req -new -x509 -days 3650 -nodes -subj /CN=localhost \
                -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1
            chmod 600 "$dir/server.key"
            [ "$(id -u)" = 0 ] && chown postgres "$dir/server.key" "$dir/server.crt"
        fi
        tls=" -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
    fi
    local full="$ctl -D $dir/data -l $dir/server.log -o '-p $port -k $dir -c listen_addresses=127.0.0.1$tls'"
    if ! answers "$port"; then
        log "starting PostgreSQL on 127.0.0.1:$port ($dir)"
        eval "$full -w start" >&2
    fi
    wait_port "$port" 30 || { log "PostgreSQL on $port did not come up; see $dir/server.log"; return 1; }
    echo "$full"
}

start_scratch_mariadb() {
    local port=$1 dir="$peers/mariadb"
    command -v mariadbd >/dev/null 2>&1 || install mariadb-server || return 1
    if [ ! -d "$dir/data/mysql" ]; then
        mkdir -p "$dir/data"
        [ "$(id -u)" = 0 ] && chown -R mysql "$dir"
        log "mariadb-install-db $dir/data"
        mariadb-install-db --datadir="$dir/data" --user=mysql --auth-root-authentication-method=normal \
            >"$dir/install.log" 2>&1
    fi
    if ! answers "$port"; then
        log "starting MariaDB on 127.0.0.1:$port ($dir)"
        ( exec mariadbd --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
            --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --user=mysql ) >"$dir/server.log" 2>&1 &
        echo $! >"$dir/started.pid"
    fi
    wait_port "$port" 60 || { log "MariaDB on $port did not come up; see $dir/server.log"; return 1; }
}

start() {
    # PostgreSQL: the machine's server, else a scratch one.
    local pg_url="${DATACONN_TEST_POSTGRES_URL:-}"
    if [ -z "$pg_url" ]; then
        if answers 5432; then
            pg_url="postgres://postgres@127.0.0.1:5432/postgres"
            log "PostgreSQL answers on 127.0.0.1:5432"
        elif start_scratch_pg pg-main 55433 >/dev/null; then
            pg_url="postgres://postgres@127.0.0.1:55433/postgres"
            touch "$peers/pg-main/started-by-us"
        fi
    fi
    # MariaDB: the machine's server, else a scratch one.
    local my_url="${DATACONN_TEST_MYSQL_URL:-}"
    if [ -z "$my_url" ]; then
        if answers 3306; then
            my_url="mysql://root@127.0.0.1:3306/"
            log "MariaDB answers on 127.0.0.1:3306"
        elif start_scratch_mariadb 33306; then
            my_url="mysql://root@127.0.0.1:33306/"
        fi
    fi
    # The private PostgreSQL that the retry test kills and restarts.
    local restart_ctl=""
    restart_ctl=$(start_scratch_pg pg-restart 55432) || restart_ctl=""

    [ -n "$pg_url" ] && echo "export DATACONN_TEST_POSTGRES_URL='$pg_url'"
    [ -n "$my_url" ] && echo "export DATACONN_TEST_MYSQL_URL='$my_url'"
    if [ -n "$restart_ctl" ]; then
        echo "export DATACONN_TEST_PG_RESTART_URL='postgres://postgres@127.0.0.1:55432/postgres'"
        printf 'export DATACONN_TEST_PG_RESTART_CTL=%q\n' "$restart_ctl"
    fi
}

stop() {
    for name in pg-restart pg-main; do
        local dir="$peers/$name"
        if [ -f "$dir/data/postmaster.pid" ] && { [ "$name" = pg-restart ] || [ -f "$dir/started-by-us" ]; }; then
            log "stopping PostgreSQL in $dir"
            local bin
            bin=$(pg_bin)
            if [ "$(id -u)" = 0 ]; then
                runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
            else
                "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
            fi
        fi
    done
    if [ -f "$peers/mariadb/started.pid" ]; then
        log "stopping MariaDB"
        kill "$(cat "$peers/mariadb/started.pid")" 2>/dev/null || true
        rm -f "$peers/mariadb/started.pid"
    fi
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
