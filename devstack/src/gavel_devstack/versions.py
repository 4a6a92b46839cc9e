"""Pinned versions of every component the local stack runs.

Changing a pin here changes the cache folder it is built or downloaded into, so an old build is
never mistaken for a new one.
"""

KUBERNETES = "v1.36.3"
"""kube-apiserver and kubectl; etcd is built at the version this release pins in its go.mod."""

KAFKA = "4.1.1"
"""Broker (KRaft) and MirrorMaker 2, from Maven Central."""

CASSANDRA = "5.0.6"
"""``org.apache.cassandra:cassandra-all`` from Maven Central, run on Java 17."""

KWOK = "v0.8.0"
"""KWOK, the kubelet of the local clusters' fake nodes (the ``nodes`` component), built from
``sigs.k8s.io/kwok/cmd/kwok``; kube-controller-manager and kube-scheduler are built at
:data:`KUBERNETES`."""

HELM = "v3.22.0"
"""The Helm CLI, built from ``helm.sh/helm/v3/cmd/helm``; only the chart's tests use it."""

JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
"""Cassandra 5.0 refuses Java 24+ (it installs a SecurityManager); Kafka is happy on 17 too."""

PROMTOOL = "v0.316.0"
"""promtool, built from ``github.com/prometheus/prometheus/cmd/promtool``: the Go module's
v0.316.0 is Prometheus 3.16.0. Only scripts/check-rules uses it, to check and test the chart's
alerts."""
PROMTOOL_TAGS = "remove_all_sd"
"""Go build tags of promtool: Prometheus' tag that leaves out every cloud's service discovery,
which rule files never use (most of a cold build's time)."""

COREDNS = "v1.15.0"
"""CoreDNS, the real nodes' cluster DNS, built from ``github.com/coredns/coredns`` with only the
plugins the nodes use (``scripts/lib/build-coredns.sh``)."""
