#!/bin/sh
# Starts one of a region's three Sentinels. Mounted from the gavel-redis-scripts ConfigMap
# (gavel_operator.rendering_redis renders it); the settings come in GAVEL_* variables.
#
# A Sentinel rewrites its own configuration file as it learns (replicas, peers, epochs, a
# failover's new primary); the file lives in an emptyDir, so a restarted container carries on
# where it was. A new pod first asks its peers which node is primary (after a failover that is
# no longer node 0), then the data nodes themselves, and waits until one of them knows: it
# never guesses, since monitoring a replica as if it were the primary would stall failovers.
set -eu

self="$POD_NAME.$GAVEL_SENTINEL_SERVICE.$POD_NAMESPACE.svc"
conf="$GAVEL_DATA_DIR/sentinel.conf"
. "$(dirname "$0")/redis-common.sh"

if [ ! -s "$conf" ]; then
    until primary=$(sentinel_primary "$self") || primary=$(node_primary); do
        echo "no Sentinel or data node knows the primary yet: waiting"
        sleep 2
    done
    echo "monitoring $primary"
    cat >"$conf" <<CONF
port $GAVEL_SENTINEL_PORT
protected-mode no
dir $GAVEL_DATA_DIR
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $self
sentinel monitor $GAVEL_REDIS_MASTER $primary $GAVEL_REDIS_PORT $GAVEL_SENTINEL_QUORUM
sentinel down-after-milliseconds $GAVEL_REDIS_MASTER $GAVEL_SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout $GAVEL_REDIS_MASTER $GAVEL_SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $GAVEL_REDIS_MASTER 1
CONF
fi
exec redis-sentinel "$conf"
