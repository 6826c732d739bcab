#!/usr/bin/env bash
# A ClickHouse server for tests and local checks: a user process with its own config and data directory,
# listening on loopback only.
#   local-server.sh start DIR [HTTP_PORT]   starts it (a free port when none is given), waits until it answers,
#                                           prints its HTTP port; DIR keeps data across stop/start
#   local-server.sh stop DIR                stops it (data stays in DIR)
set -euo pipefail
command_name=${1:?usage: local-server.sh start|stop DIR [HTTP_PORT]}
dir=$(realpath -m "${2:?usage: local-server.sh start|stop DIR [HTTP_PORT]}")

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

case "$command_name" in
start)
    mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas"
    http_port=${3:-$(cat "$dir/http_port" 2>/dev/null || free_port)}
    tcp_port=$(free_port)
    cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/server.err.log</errorlog>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$http_port</http_port>
    <tcp_port>$tcp_port</tcp_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <timezone>UTC</timezone>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <profiles><default></default></profiles>
    <quotas><default></default></quotas>
</yandex>
XML
    echo "$http_port" >"$dir/http_port"
    clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 300); do
        if curl -sf "http://127.0.0.1:$http_port/ping" >/dev/null 2>&1; then
            echo "$http_port"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "clickhouse-server did not start; see $dir/log" >&2
    tail -n 20 "$dir/log/stdout.log" "$dir/log/server.err.log" >&2 2>/dev/null || true
    exit 1
    ;;
stop)
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/pid"
    fi
    ;;
*)
    echo "usage: local-server.sh start|stop DIR [HTTP_PORT]" >&2
    exit 2
    ;;
esac
