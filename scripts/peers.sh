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

# A Python venv with the test peers from PyPI (moto's S3 server, pyarrow/pandas for interop).
python_peers() {
    local venv="$peers/venv"
    if [ ! -x "$venv/bin/moto_server" ] || [ ! -f "$venv/.peers-ready-5" ]; then
        command -v python3 >/dev/null 2>&1 || install python3 python3-venv || return 1
        python3 -m venv "$venv" >&2 || { install python3-venv && python3 -m venv "$venv" >&2; } || return 1
        log "installing moto, pyarrow, pandas, fakesnow, the ADBC drivers, SQLAlchemy and pyodbc into $venv"
        "$venv/bin/pip" install --quiet 'moto[s3]==5.2.5' flask flask-cors pyarrow pandas azure-storage-blob \
            'fakesnow[server]==0.12.1' 'snowflake-connector-python<5' \
            'adbc-driver-manager==1.13.0' 'adbc-driver-postgresql==1.13.0' 'adbc-driver-sqlite==1.13.0' \
            'adbc-driver-snowflake==1.11.0' 'sqlalchemy==2.0.44' 'pyodbc==5.3.0' \
            >&2 || return 1
        touch "$venv/.peers-ready-5"
    fi
    echo "$venv"
}

# Start "$@" in the background from directory $1, logging to $peers/$2.log, remembering its PID.
background() {
    local dir=$1 name=$2
    shift 2
    ( cd "$dir" && exec "$@" ) >"$peers/$name.log" 2>&1 &
    echo $! >"$peers/$name.pid"
}

start_files_peers() {
    local venv
    venv=$(python_peers) || { log "no Python peers: S3, HTTP, ADBC and interop tests will report missing servers"; return 0; }
    adbc_peers "$venv"
    # The Python with SQLAlchemy, pyarrow and pandas, for tests that compare against them.
    printf 'export DATACONN_TEST_PYTHON=%q\n' "$venv/bin/python"
    # S3: moto.
    if ! answers 5055; then
        log "starting moto (S3) on 127.0.0.1:5055"
        background "$peers" moto "$venv/bin/moto_server" -H 127.0.0.1 -p 5055
    fi
    if wait_port 5055 30; then
        "$venv/bin/python" -c "
import boto3
s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:5055', aws_access_key_id='test',
                  aws_secret_access_key='test', region_name='us-east-1')
if 'dataconn-test' not in [b['Name'] for b in s3.list_buckets().get('Buckets', [])]:
    s3.create_bucket(Bucket='dataconn-test')
" >&2 && echo "export DATACONN_TEST_S3_ENDPOINT='http://127.0.0.1:5055'"
    fi
    # HTTP: a static file server over a folder the tests write into.
    mkdir -p "$peers/http"
    if ! answers 5056; then
        log "starting a static HTTP server on 127.0.0.1:5056 ($peers/http)"
        background "$peers/http" http python3 -m http.server --bind 127.0.0.1 5056
    fi
    wait_port 5056 30 && {
        echo "export DATACONN_TEST_HTTP_URL='http://127.0.0.1:5056'"
        echo "export DATACONN_TEST_HTTP_DIR='$peers/http'"
    }
    # Snowflake: fakesnow's server (Snowflake's driver protocol).
    if ! answers 5058; then
        log "starting fakesnow (Snowflake) on 127.0.0.1:5058"
        background "$peers" fakesnow "$venv/bin/fakesnow" -s -p 5058
    fi
    wait_port 5058 60 && echo "export DATACONN_TEST_SNOWFLAKE_URL='http://127.0.0.1:5058'"
    # Interop files written by pyarrow and pandas.
    if [ ! -f "$peers/interop/pandas.parquet" ]; then
        "$venv/bin/python" scripts/python/interop.py "$peers/interop" >&2
    fi
    echo "export DATACONN_TEST_INTEROP_DIR='$peers/interop'"
    # Azure: azurite, from npm.
    if command -v npm >/dev/null 2>&1; then
        if [ ! -x "$peers/azurite/node_modules/.bin/azurite-blob" ]; then
            log "installing azurite 3.37.0"
            mkdir -p "$peers/azurite"
            (cd "$peers/azurite" && npm install --no-audit --no-fund --silent azurite@3.37.0 >&2) || true
        fi
        if [ -x "$peers/azurite/node_modules/.bin/azurite-blob" ]; then
            if ! answers 5057; then
                log "starting azurite (Azure Blob) on 127.0.0.1:5057"
                background "$peers/azurite" azurite "$peers/azurite/node_modules/.bin/azurite-blob" \
                    --blobHost 127.0.0.1 --blobPort 5057 --inMemoryPersistence --disableTelemetry \
                    --skipApiVersionCheck --loose
            fi
            if wait_port 5057 60; then
                "$venv/bin/python" -c "
from azure.storage.blob import BlobServiceClient
key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
client = BlobServiceClient(account_url='http://127.0.0.1:5057/devstoreaccount1', credential={'account_name': 'devstoreaccount1', 'account_key': key})
if 'dataconn-test' not in [c.name for c in client.list_containers()]:
    client.create_container('dataconn-test')
" >&2 && echo "export DATACONN_TEST_AZURITE_URL='http://127.0.0.1:5057'"
            fi
        fi
    else
        log "npm not found: the Azure tests will report a missing server"
    fi
}

# ADBC drivers (the shared libraries inside the PyPI wheels) and DuckDB's own library (from
# DuckDB's npm package, which ships libduckdb.so as it is), for the ADBC and DuckDB tests.
adbc_peers() {
    local venv=$1 driver
    for driver in postgresql sqlite snowflake; do
        local so
        so=$("$venv/bin/python" -c "import adbc_driver_$driver as d; print(d._driver_path())" 2>/dev/null) || continue
        [ -f "$so" ] && printf 'export DATACONN_TEST_ADBC_%s_DRIVER=%q\n' "${driver^^}" "$so"
    done
    local duck="$peers/duckdb/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so"
    if [ ! -f "$duck" ] && command -v npm >/dev/null 2>&1; then
        log "installing DuckDB's library (npm @duckdb/node-bindings-linux-x64 1.5.6-r.1)"
        mkdir -p "$peers/duckdb"
        (cd "$peers/duckdb" && npm install --no-audit --no-fund --silent \
            '@duckdb/node-bindings-linux-x64@1.5.6-r.1' >&2) || true
    fi
    [ -f "$duck" ] && printf 'export DATACONN_TEST_DUCKDB_LIBRARY=%q\n' "$duck"
    return 0
}

# unixODBC and the PostgreSQL, MariaDB and SQLite ODBC drivers (Debian's packages), for the ODBC
# tests; prints the registered driver names the tests connect with.
odbc_peers() {
    local want=(unixodbc unixodbc-dev odbc-postgresql odbc-mariadb libsqliteodbc) missing=() pkg
    for pkg in "${want[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        install "${missing[@]}" || { log "no ODBC drivers: the ODBC tests will report them missing"; return 0; }
    fi
    local drivers
    drivers=$(odbcinst -q -d 2>/dev/null | tr -d '[]')
    local name
    name=$(grep -m1 '^PostgreSQL Unicode$' <<<"$drivers") && echo "export DATACONN_TEST_ODBC_POSTGRES_DRIVER='$name'"
    name=$(grep -m1 '^MariaDB' <<<"$drivers") && echo "export DATACONN_TEST_ODBC_MARIADB_DRIVER='$name'"
    name=$(grep -m1 '^SQLite3$' <<<"$drivers") && echo "export DATACONN_TEST_ODBC_SQLITE_DRIVER='$name'"
    return 0
}

start() {
    odbc_peers
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
    # Redis: the machine's server, else a scratch one; the outage test starts its own too.
    command -v redis-server >/dev/null 2>&1 || install redis-server || true
    local redis_url="${DATACONN_TEST_REDIS_URL:-}"
    if [ -z "$redis_url" ]; then
        if answers 6379; then
            redis_url="redis://127.0.0.1:6379/"
        elif command -v redis-server >/dev/null 2>&1; then
            if ! answers 6390; then
                log "starting Redis on 127.0.0.1:6390"
                background "$peers" redis redis-server --port 6390 --bind 127.0.0.1 --save "" --appendonly no
            fi
            wait_port 6390 30 && redis_url="redis://127.0.0.1:6390/"
        fi
    fi
    [ -n "$redis_url" ] && echo "export DATACONN_TEST_REDIS_URL='$redis_url'"
    command -v redis-server >/dev/null 2>&1 && echo "export DATACONN_TEST_REDIS_SERVER='$(command -v redis-server)'"
    # The private PostgreSQL that the retry test kills and restarts.
    local restart_ctl=""
    restart_ctl=$(start_scratch_pg pg-restart 55432) || restart_ctl=""

    [ -n "$pg_url" ] && echo "export DATACONN_TEST_POSTGRES_URL='$pg_url'"
    [ -n "$my_url" ] && echo "export DATACONN_TEST_MYSQL_URL='$my_url'"
    start_files_peers
    if [ -n "$restart_ctl" ]; then
        echo "export DATACONN_TEST_PG_RESTART_URL='postgres://postgres@127.0.0.1:55432/postgres'"
        printf 'export DATACONN_TEST_PG_RESTART_CTL=%q\n' "$restart_ctl"
    fi
}

stop() {
    for name in moto http azurite redis fakesnow; do
        if [ -f "$peers/$name.pid" ]; then
            log "stopping $name"
            kill "$(cat "$peers/$name.pid")" 2>/dev/null || true
            rm -f "$peers/$name.pid"
        fi
    done
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
