#!/usr/bin/env bash
# Switchboard and Janus side by side: the same one-to-one audio calls (loadgen: a caller and a
# callee per call, each its own WebRTC peer, pre-encoded Opus at 50 packets/s each way) through
# Janus 1.1.x (Debian `janus`, the videocall plugin) and through Switchboard, in the same run,
# alternating; prints server CPU per forwarded packet for both and their ratio.
#
#   bash scripts/bench-vs-janus.sh                 # 10 25 50 100 calls, 20 s windows
#   CALLS="50 100" SECONDS_PER_RUN=30 bash scripts/bench-vs-janus.sh
#   EXTRA=--video bash scripts/bench-vs-janus.sh  # loadgen options for both (here: video too)
#
# Needs root (a network namespace: Janus never gathers loopback candidates, so it, the
# generator and Switchboard all run in a namespace of their own with one veth address;
# nothing outside this machine is touched). Installs janus with apt if it is missing.
# Each run's JSON report is kept in $OUT (default target/bench-vs-janus/).
set -euo pipefail
cd "$(dirname "$0")/.."

CALLS=${CALLS:-"10 25 50 100"}
SECS=${SECONDS_PER_RUN:-20}
EXTRA=${EXTRA:-}
NS=sbjanus$$
IP=10.203.0.2
OUT=${OUT:-target/bench-vs-janus}
JDIR=$(mktemp -d /tmp/sb-janus.XXXXXX)
JPID=

[ "$(id -u)" = 0 ] || { echo "bench-vs-janus: needs root (network namespace)" >&2; exit 2; }
if ! command -v janus >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q janus >/dev/null
fi
for c in ip jq; do
  command -v $c >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2 jq >/dev/null
done

cleanup() {
  [ -n "$JPID" ] && kill "$JPID" 2>/dev/null && wait "$JPID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null || true
  ip link del "v$NS" 2>/dev/null || true
  rm -rf "$JDIR"
}
trap cleanup EXIT

cargo build --release -q -p loadgen --bin loadgen
cargo build --release -q --bin switchboard
mkdir -p "$OUT"

# The namespace: loopback and one veth end with $IP (the other end stays down in the root
# namespace; the address is local to the namespace, so traffic between peers and server stays
# inside it, as on loopback).
ip netns add "$NS"
ip link add "v$NS" type veth peer name eth0 netns "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add "$IP/24" dev eth0
ip -n "$NS" link set eth0 up
ip link set "v$NS" up

# Janus: Debian's configuration, the plugins and transports the comparison does not use
# disabled, plain HTTP on the namespace's address, logging at warnings.
cp -r /etc/janus/. "$JDIR/"
sed -i "s|configs_folder = \"/etc/janus\"|configs_folder = \"$JDIR\"|; s|^\(\s*\)debug_level = 4|\1debug_level = 3|" "$JDIR/janus.jcfg"
python3 - "$JDIR/janus.jcfg" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("plugins: {\n", 'plugins: {\n\tdisable = "libjanus_streaming.so,libjanus_voicemail.so,libjanus_recordplay.so,libjanus_duktape.so,libjanus_lua.so,libjanus_sip.so,libjanus_nosip.so,libjanus_audiobridge.so,libjanus_textroom.so,libjanus_echotest.so"\n', 1)
s = s.replace("transports: {\n", 'transports: {\n\tdisable = "libjanus_rabbitmq.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_websockets.so"\n', 1)
s = s.replace("events: {\n", 'events: {\n\tbroadcast = false\n', 1)
open(p, "w").write(s)
EOF
ip netns exec "$NS" janus --configs-folder="$JDIR" --config="$JDIR/janus.jcfg" -N -L "$JDIR/janus.log" >/dev/null 2>&1 &
JPID=$!

LG=target/release/loadgen
row() { # name file
  jq -r --arg n "$1" '[$n, .calls.two_way, .calls.requested, .server.cpu_us_per_packet,
    .server.packets_per_cpu_second, .customer_to_agent.loss_percent, .agent_to_customer.loss_percent,
    .customer_to_agent.latency_us.p50, .customer_to_agent.latency_us.p99,
    .setup_ms.accept_to_two_way_audio.p50, .server.rss_per_call_kib, .loadgen.cpu_percent_of_one_core] | @tsv' "$2"
}
printf "%-12s %5s %6s %8s %9s %7s %7s %7s %7s %8s %8s %8s\n" server calls of us/pkt pkt/cpu-s loss_ca loss_ac p50_us p99_us setup_ms kib/call lg_cpu%
for n in $CALLS; do
  ip netns exec "$NS" "$LG" --janus "http://$IP:8088/janus" --pid "$JPID" --bind "$IP" \
     --calls "$n" --seconds "$SECS" $EXTRA > "$OUT/janus-$n.json" 2>"$OUT/janus-$n.log" || true
  ip netns exec "$NS" "$LG" --spawn target/release/switchboard --bind 127.0.0.1 \
     --calls "$n" --seconds "$SECS" $EXTRA > "$OUT/switchboard-$n.json" 2>"$OUT/switchboard-$n.log" || true
  for s in janus switchboard; do
    if [ -s "$OUT/$s-$n.json" ]; then
      row "$s" "$OUT/$s-$n.json" | awk -F'\t' '{printf "%-12s %5s %6s %8s %9s %7s %7s %7s %7s %8s %8s %8s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12}'
    else
      echo "$s $n: no report (see $OUT/$s-$n.log)"
    fi
  done
  j=$(jq -r .server.cpu_us_per_packet "$OUT/janus-$n.json" 2>/dev/null || echo null)
  s=$(jq -r .server.cpu_us_per_packet "$OUT/switchboard-$n.json" 2>/dev/null || echo null)
  if [ "$j" != null ] && [ "$s" != null ]; then
    echo "  $n calls: Janus/Switchboard CPU per packet = $(python3 -c "print(round($j/$s, 2))")"
  fi
done
