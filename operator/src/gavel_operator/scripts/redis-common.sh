# What both Redis start scripts ask the region, sourced by redis-node.sh and redis-sentinel.sh
# (all three in the gavel-redis-scripts ConfigMap rendered by gavel_operator.rendering_redis).

# A host name as Redis answers it: no spaces, no error text.
valid_host() {
    case "$1" in "" | *" "* | ERR* | *:*) return 1 ;; *) return 0 ;; esac
}

# The primary the first answering Sentinel names (other than the host given), if any.
sentinel_primary() {
    for sentinel in $GAVEL_SENTINELS; do
        [ "${sentinel%:*}" = "${1:-}" ] && continue
        answer=$(timeout 3 redis-cli -h "${sentinel%:*}" -p "${sentinel##*:}" --raw \
            SENTINEL get-master-addr-by-name "$GAVEL_REDIS_MASTER" 2>/dev/null) || continue
        host=$(printf '%s\n' "$answer" | sed -n 1p)
        if valid_host "$host"; then
            echo "$host"
            return 0
        fi
    done
    return 1
}

# The first data node (other than the host given) that reports itself primary, if any.
node_primary() {
    i=0
    while [ "$i" -lt "$GAVEL_REDIS_NODES" ]; do
        node="$GAVEL_REDIS_SERVICE-$i.$GAVEL_REDIS_SERVICE.$POD_NAMESPACE.svc"
        if [ "$node" != "${1:-}" ] && timeout 3 redis-cli -h "$node" -p "$GAVEL_REDIS_PORT" \
            INFO replication 2>/dev/null | grep -q '^role:master'; then
            echo "$node"
            return 0
        fi
        i=$((i + 1))
    done
    return 1
}
