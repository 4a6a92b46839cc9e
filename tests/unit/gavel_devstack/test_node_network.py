from __future__ import annotations

from gavel_devstack import layout, node_config, node_network

NET = node_config.node_net(3, "us")


def test_the_host_forwards_only_its_own_blocks_ports_from_the_node_to_loopback() -> None:
    (pre, dnat), (inp, snat) = node_network.forward_rules(NET, 3)
    first, last = layout.block_ports(3)
    assert (last - first + 1, first) == (layout.BLOCK_SIZE, layout.FIRST_PORT + 3 * 75)
    assert (pre, inp) == ("PREROUTING", "INPUT")
    for rule in (dnat, snat):
        assert rule[rule.index("--dport") + 1] == f"{first}:{last}"
        assert rule[rule.index("-i") + 1] == NET.host_link
    assert dnat[dnat.index("-d") + 1] == f"{NET.host_ip}/32"
    assert dnat[dnat.index("--to-destination") + 1] == "127.0.0.1"
    # The server then sees a loopback client (Redis' protected mode refuses any other).
    assert snat[snat.index("-d") + 1] == "127.0.0.1/32"
    assert snat[snat.index("--to-source") + 1] == "127.0.0.1"


def test_node_processes_enter_only_the_nodes_network_namespace() -> None:
    argv = node_network.in_netns(NET, ["containerd", "--config", "c.toml"])
    assert argv == [
        "nsenter",
        "--net=/run/netns/gavel-3-us",
        "--",
        "containerd",
        "--config",
        "c.toml",
    ]
