#!/usr/bin/env bash
# Start or stop an extra Docker Engine beside the machine's own, for tests and benchmarks that need
# several engines (or one they may stop and restart) without touching the main one.
#
#   scripts/extra-dockerd.sh start NAME [INDEX]   print its DOCKER_HOST once it answers
#   scripts/extra-dockerd.sh stop NAME            stop it (its containers die with it); keep its data
#   scripts/extra-dockerd.sh remove NAME          stop it and remove its data, bridge and files
#   scripts/extra-dockerd.sh freeze|thaw NAME     SIGSTOP/SIGCONT it: an engine that does not
#                                                 answer while its containers run on
#   scripts/extra-dockerd.sh host NAME            print its DOCKER_HOST
#   scripts/extra-dockerd.sh tls-host NAME INDEX  print its TLS address (EXTRA_DOCKERD_TLS below)
#
# Each engine has its own socket, data-root, exec-root, pidfile and bridge (ecsx<INDEX>, subnet
# 10.<200+INDEX>.0.1/24; networks it creates from 10.<210+INDEX>.0.0/16), all under $EXTRA_DOCKERD_ROOT (default /tmp/ecs-emulator-dockerd/NAME),
# so its containers, images and networks are its own. INDEX (1-50) picks the bridge; default 1.
# Needs root, as dockerd does. A restart after `stop` keeps the images loaded into it, not the
# networks made in it (see `start`: who needs one makes it again, as the emulator does).
#
# With EXTRA_DOCKERD_TLS=DIR at `start`, it also listens on tcp://127.0.0.1:<23750+INDEX> with
# --tlsverify: DIR holds ca.pem (the CA clients' certificates must be signed by), server-cert.pem
# and server-key.pem, as Docker's "Protect the Docker daemon socket" makes them; `tls-host NAME
# INDEX` prints that address. Its unix socket stays as it is (no TLS there).
set -euo pipefail

command=${1:?usage: extra-dockerd.sh start|stop|remove|host|tls-host NAME [INDEX]}
name=${2:?usage: extra-dockerd.sh start|stop|remove|host|tls-host NAME [INDEX]}
index=${3:-1}
tls_host=tcp://127.0.0.1:$((23750 + index))
base=${EXTRA_DOCKERD_ROOT:-/tmp/ecs-emulator-dockerd}
root=$base/$name
socket=$root/docker.sock
host=unix://$socket
bridge=ecsx$index

# Everything here runs as root and trusts what is under $base: its pid file is killed, its log is
# written through `>`, its socket is the engine's. Another local user who made $base first (it is
# in /tmp) would choose all of that, so $base and $root must be directories (not links) of this
# user's that no one else may write to, as tests/extra_engines.py asks of its claims.
owned_dir() {
  local dir=$1 uid mode kind
  [ -L "$dir" ] && { echo "extra-dockerd: $dir is a symbolic link: refusing it" >&2; exit 3; }
  [ -e "$dir" ] || return 0
  read -r uid mode kind <<<"$(stat -c '%u %a %F' "$dir")"
  if [ "$kind" != directory ] || [ "$uid" != "$(id -u)" ] || (( 8#$mode & 8#022 )); then
    echo "extra-dockerd: $dir is not a directory of this user's that only it may write to" \
         "(owner $uid, mode $mode): refusing it (remove it, or set EXTRA_DOCKERD_ROOT to a" \
         "directory of yours)" >&2
    exit 3
  fi
}
# The pid in $root/dockerd.pid: a plain number above 1 (kill -1 would signal every process).
pid_file_pid() {
  local pid
  pid=$(cat "$root/dockerd.pid")
  [[ $pid =~ ^[0-9]+$ ]] && (( 10#$pid > 1 )) || {
    echo "extra-dockerd: $root/dockerd.pid holds no process id: refusing it" >&2; exit 3; }
  echo $((10#$pid))
}
case $name in
  */*|.|..|"") echo "extra-dockerd: $name is no engine name" >&2; exit 2 ;;
esac
if [ "$command" != host ] && [ "$command" != tls-host ]; then
  [ -e "$base" ] || [ -L "$base" ] || mkdir -p -m 0755 "$base"
  owned_dir "$base"
  owned_dir "$root"
fi

stop() {
  if [ -f "$root/dockerd.pid" ]; then
    pid=$(pid_file_pid)
    if kill -0 "$pid" 2>/dev/null; then
      kill -CONT "$pid" 2>/dev/null || true  # a frozen one must run to hear the TERM
      kill "$pid"
      for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$root/dockerd.pid"
  fi
}

running() {
  [ -f "$root/dockerd.pid" ] && kill -0 "$(pid_file_pid)" 2>/dev/null
}

# The bridges of networks made inside it (the emulator's) outlive its dockerd: their addresses
# are in its own pool, 10.<210+INDEX>.0.0/16, which no other engine uses.
remove_network_bridges() {
  ip -4 -o addr show | awk -v pool="10.$((210 + index))." 'index($4, pool) == 1 {print $2}' \
    | sort -u | xargs -r -n1 ip link del 2>/dev/null || true
}

put_back_docker0() {
  if [ -n "$main_bridge" ] && ! ip link show docker0 >/dev/null 2>&1; then
    # With an address of its own, as dockerd makes it: a bridge without one takes its lowest
    # port's MAC and changes it as containers come and go, and containers that learnt the
    # gateway's MAC lose the gateway for up to ~45 s (emulator/runtime/bridge_ports.py)
    ip link add name docker0 address "$(printf '02:42:%02x:%02x:%02x:%02x' $((RANDOM % 256)) \
      $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))" type bridge
    ip addr add "$main_bridge" dev docker0
    ip link set docker0 up
    echo "extra-dockerd: $name's start removed docker0; put it back ($main_bridge)" >&2
  fi
}

case $command in
  host)
    echo "$host" ;;
  tls-host)
    echo "$tls_host" ;;
  start)
    mkdir -p "$root/data" "$root/exec"
    if ! ip link show "$bridge" >/dev/null 2>&1; then
      ip link add name "$bridge" type bridge
      ip addr add "10.$((200 + index)).0.1/24" dev "$bridge"
      ip link set "$bridge" up
    fi
    # --shutdown-timeout 1: a stop kills containers that ignore SIGTERM after a second, so tests
    # that restart the engine do not wait out ten. --iptables=false: a dockerd that manages
    # iptables flushes and rebuilds the shared DOCKER chains at start, which would wipe the main
    # engine's rules; ports are published by docker-proxy instead, and containers reach the host
    # at their bridge's gateway address without NAT.
    # Docker 20.10 started on a data-root whose network store holds a default "bridge" network
    # (any restart: the first start wrote it) deletes that stale network and then, because
    # --default-address-pool is given and --live-restore is not, the interface named docker0
    # (daemon_unix.go's initNetworkController, removeDefaultBridgeInterface: the name is fixed,
    # whatever --bridge says). The network namespace is the host's, so that is the machine
    # engine's default bridge, with every container on it cut off. So no start finds a stored
    # network: the store goes, and with it the bridges of the networks it listed (theirs, made
    # from this engine's own pool). Never while a dockerd of this NAME runs on it.
    if ! running; then
      rm -f "$root/data/network/files/local-kv.db"
      remove_network_bridges
    fi
    # The last resort, should a dockerd still take docker0: note its address now, put it back
    # after this start (whether or not the engine came up).
    main_bridge=$(ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | head -n1)
    tls=()
    if [ -n "${EXTRA_DOCKERD_TLS:-}" ]; then
      tls=(--host "$tls_host" --tlsverify --tlscacert "$EXTRA_DOCKERD_TLS/ca.pem"
           --tlscert "$EXTRA_DOCKERD_TLS/server-cert.pem" --tlskey "$EXTRA_DOCKERD_TLS/server-key.pem")
    fi
    nohup dockerd --host "$host" "${tls[@]}" --data-root "$root/data" --exec-root "$root/exec" \
      --pidfile "$root/dockerd.pid" --bridge "$bridge" --shutdown-timeout 1 \
      --default-address-pool "base=10.$((210 + index)).0.0/16,size=24" \
      --iptables=false --ip-masq=false >"$root/dockerd.log" 2>&1 &
    for _ in $(seq 1 200); do
      if docker -H "$host" version >/dev/null 2>&1; then
        put_back_docker0
        echo "$host"
        exit 0
      fi
      sleep 0.1
    done
    put_back_docker0
    echo "extra-dockerd: $name did not come up; see $root/dockerd.log" >&2
    tail -n 20 "$root/dockerd.log" >&2 || true
    exit 1 ;;
  stop)
    stop ;;
  freeze)
    pid=$(pid_file_pid); kill -STOP "$pid" ;;
  thaw)
    pid=$(pid_file_pid); kill -CONT "$pid" ;;
  remove)
    stop
    # what containers left mounted under the data-root must go before the files do
    grep " $root/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$root"
    ip link del "$bridge" 2>/dev/null || true
    remove_network_bridges ;;
  *)
    echo "extra-dockerd: unknown command $command" >&2
    exit 2 ;;
esac
