#!/bin/sh
# Starts one data node of a region's Redis, as its primary or as a replica, whichever is safe.
# Mounted from the gavel-redis-scripts ConfigMap (gavel_operator.rendering_redis renders it);
# the server's flags come as arguments, the topology in GAVEL_* variables.
#
# The Sentinels decide who is primary, so the node asks them first:
# - they name another node: start as its replica;
# - they name this node: it restarted before they noticed. Its append-only file may lack the
#   last second of writes that replicas acknowledged (WAIT), and replicas resyncing from it
#   would lose those bids; so wait until the Sentinels promote a replica, then follow it;
# - no Sentinel knows a primary (the region's first start, or every Sentinel lost its state):
#   follow a node that reports itself primary; if none does, node 0 becomes the primary and the
#   others wait for it.
set -eu

. "$(dirname "$0")/redis-common.sh"

self="$POD_NAME.$GAVEL_REDIS_SERVICE.$POD_NAMESPACE.svc"
ordinal="${POD_NAME##*-}"

# No password: the pod network is the boundary. Protected mode would refuse every other pod
# (the image's entrypoint turns it off, but this script replaces the entrypoint).
serve() {
    exec redis-server --protected-mode no --port "$GAVEL_REDIS_PORT" --dir "$GAVEL_DATA_DIR" \
        --replica-announce-ip "$self" "$@"
}

while :; do
    if primary=$(sentinel_primary); then
        if [ "$primary" != "$self" ]; then
            echo "the Sentinels name $primary primary: starting as its replica"
            serve "$@" --replicaof "$primary" "$GAVEL_REDIS_PORT"
        fi
        echo "the Sentinels still name this node primary: waiting for them to promote a replica"
    elif primary=$(node_primary "$self"); then
        echo "no Sentinel knows a primary; $primary says it is one: starting as its replica"
        serve "$@" --replicaof "$primary" "$GAVEL_REDIS_PORT"
    elif [ "$ordinal" = 0 ]; then
        echo "no primary anywhere: starting as the region's first primary"
        serve "$@"
    else
        echo "no primary anywhere yet: waiting for node 0 to start as one"
    fi
    sleep 2
done
