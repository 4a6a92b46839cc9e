"""``scripts/operator-demo``: the operator making five regional clusters ready for a drop.

Brings nothing up itself (``scripts/operator-demo`` runs ``scripts/stack up --regions 5 --only
k8s,redis`` in its own run folder first). It installs the CRDs in the hub, enrols the five
regions (``gavel operator enrol``), applies ``examples/regions.yaml`` pointed at the local Redis
servers, starts ``gavel operator run`` as a process of that stack (``scripts/stack down --dir
.stack-operator`` stops it too), then applies ``examples/drop.yaml`` retimed to open in a few
seconds and prints a line whenever the Drop's phase, its price or a region's replica floors
change, until the drop is closed and every region is back at its baseline.

The operator is driven only through its CLI and the Kubernetes API, as a platform engineer would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from gavel import bidding, endpoints, redis_client
from gavel.redis_acl import Role
from gavel_devstack import install, process, stack

console = Console()
OPERATOR_NS, DROPS_NS = "gavel-system", "merch"
LEAD_S, OPENS_IN_S, LIVE_S, COOLDOWN_S = 10, 25, 20, 10


class Hub:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def kubectl(self, cluster: str, *args: str, stdin: str | None = None) -> str:
        proc = subprocess.run(
            [
                str(install.k8s_dir() / "bin" / "kubectl"),
                "--kubeconfig",
                self.env[f"KUBECONFIG_{cluster.upper()}"],
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("hub", "get", *args, "-o", "json"))


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _gavel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gavel", *args], check=True, capture_output=True)


def set_up(hub: Hub, regions: list[str]) -> None:
    root = install.repo_root()
    hub.kubectl("hub", "apply", "--server-side", "-f", str(root / "crds"))
    for ns in (OPERATOR_NS, DROPS_NS):
        hub.kubectl(
            "hub",
            "apply",
            "-f",
            "-",
            stdin=yaml.safe_dump(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            ),
        )
    for region in regions:
        _gavel(
            "operator",
            "enrol",
            region,
            "--kubeconfig",
            hub.env[f"KUBECONFIG_{region.upper()}"],
            "--hub-kubeconfig",
            hub.env["KUBECONFIG_HUB"],
        )
        console.print(f"  enrolled [bold]{region}[/]: Secret {OPERATOR_NS}/gavel-region-{region}")
    docs = list(yaml.safe_load_all((root / "examples" / "regions.yaml").read_text()))
    for doc in docs:
        doc["spec"]["endpoints"]["redisUrl"] = hub.env[
            endpoints.redis_url_var(doc["metadata"]["name"])
        ]
    hub.kubectl("hub", "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))
    hub.kubectl("hub", "wait", "--for=condition=Established", "crd", "--all")


def start_operator(run_dir: Path, env: dict[str, str]) -> None:
    pids = run_dir / "operator-pid"
    if pids.exists():  # an earlier demo's operator
        pid, started = (int(x) for x in pids.read_text().split(":"))
        process.stop(pid, started, grace_s=10)
    pid, started = process.spawn(
        [sys.executable, "-m", "gavel", "operator", "run", "--liveness-port", "0"],
        run_dir / "logs" / "operator.log",
        cwd=run_dir,
        env={
            "KUBECONFIG": env["KUBECONFIG_HUB"],
            "GAVEL_OPERATOR_NAMESPACE": OPERATOR_NS,
            "GAVEL_OPERATOR_TICK_S": "1",
        },
    )
    pids.write_text(f"{pid}:{started}")
    console.print(f"  operator pid {pid}, log {run_dir / 'logs' / 'operator.log'}")


def demo_drop(regions: list[str]) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(
        (install.repo_root() / "examples" / "drop.yaml").read_text()
    )
    now = time.time()
    spec = manifest["spec"]
    manifest["metadata"] = {"name": f"demo-{uuid.uuid4().hex[:6]}", "namespace": DROPS_NS}
    spec["regions"] = regions
    spec["demand"]["regionWeights"] = {r: 3 if r == spec["homeRegion"] else 1 for r in regions}
    spec["startsAt"], spec["endsAt"] = _stamp(now + OPENS_IN_S), _stamp(now + OPENS_IN_S + LIVE_S)
    spec["preScale"] |= {"leadSeconds": LEAD_S, "cooldownSeconds": COOLDOWN_S}
    # A crowd big enough to see the floors move, and a soft close short enough to watch.
    spec["demand"] |= {"peakObservers": 1_000_000, "peakBidders": 20_000}
    spec["auction"]["softClose"] = {"windowSeconds": 5, "extensionSeconds": 5}
    return manifest


def _running_gateways(hub: Hub, region: str) -> int:
    pods = json.loads(
        hub.kubectl(
            region,
            "get",
            "pods",
            "-n",
            "gavel",
            "-l",
            "app.kubernetes.io/name=gateway",
            "--field-selector",
            "status.phase=Running",
            "-o",
            "json",
        )
    )
    return len(pods["items"])


def _line(drop: dict[str, Any], regions: dict[str, Any], gateways: int) -> tuple[str, ...]:
    status = drop.get("status", {})
    floors = " ".join(
        f"{name}:{r.get('status', {}).get('minReplicas', {}).get('gateway', '-')}"
        f"/{r.get('status', {}).get('minReplicas', {}).get('fanout', '-')}"
        for name, r in sorted(regions.items())
    )
    return (
        status.get("phase", "-"),
        status.get("regionsReady", "-"),
        str(status.get("highBid", "-")),
        str(status.get("bids", "-")),
        str(gateways),
        floors,
    )


async def _bid(redis_url: str, drop: str, amounts: list[int]) -> None:
    redis = redis_client.connect(redis_url)
    try:
        for i, amount in enumerate(amounts):
            await bidding.place_bid(
                redis,
                bidding.bid_call(
                    drop,
                    ["alice", "bob"][i % 2],
                    f"demo-{uuid.uuid4().hex[:8]}",
                    amount,
                    event_id=uuid.uuid4().hex,
                    received_ms=int(time.time() * 1000),
                    region="us",
                ),
            )
    finally:
        await redis.aclose()


def watch(hub: Hub, manifest: dict[str, Any]) -> None:
    name = manifest["metadata"]["name"]
    print(
        "\ntime   phase       ready  price    bids  us gateway pods  "
        "floors per region (gateway/fan-out)",
        flush=True,
    )
    begun, last, bid, baseline = time.monotonic(), None, False, None
    deadline = begun + OPENS_IN_S + LIVE_S + COOLDOWN_S + 60
    while time.monotonic() < deadline:
        drop = hub.get("drop", name, "-n", DROPS_NS)
        regions = {r["metadata"]["name"]: r for r in hub.get("regions")["items"]}
        line = _line(drop, regions, _running_gateways(hub, manifest["spec"]["homeRegion"]))
        baseline = baseline or line[5]
        if line != last:
            phase, ready, price, bids, pods, floors = line
            # Plain print: rich would wrap these lines at 80 columns outside a terminal.
            print(
                f"{time.monotonic() - begun:5.1f}s {phase:<11} {ready:<6} {price:<8} "
                f"{bids:<5} {pods:<16} {floors}",
                flush=True,
            )
            last = line
        if line[0] == "Live" and not bid:
            auction = manifest["spec"]["auction"]
            start, reserve = auction["startPrice"], auction["reservePrice"]
            asyncio.run(
                _bid(
                    endpoints.redis_url("us", hub.env, role=Role.GATEWAY),
                    name,
                    [start, start + 1_000, reserve],
                )
            )
            bid = True
        if line[0] == "Closed" and line[5] == baseline:
            break
        time.sleep(0.5)
    status = hub.get("drop", name, "-n", DROPS_NS).get("status", {})
    console.print(
        f"\nwinner: [bold]{status.get('winnerAlias', 'none')}[/], reserve met: "
        f"{status.get('reserveMet')}, ended {status.get('liveEndsAt')} "
        f"(planned {manifest['spec']['endsAt']}; bids in the last seconds extend it)"
    )
    console.print(
        "The floors are back at the baseline; the extra pods go when the HPA scales down, "
        "which needs a metrics server (none runs here)."
    )


def main() -> None:
    run_dir = Path(sys.argv[1]).resolve()
    state = stack.load_state(run_dir)
    if state is None:
        raise SystemExit(f"no stack in {run_dir}: run scripts/operator-demo")
    env = dict(line.split("=", 1) for line in stack.env_lines(run_dir, state))
    hub, regions = Hub(env), endpoints.regions(env)
    console.print("[bold]hub:[/] CRDs, namespaces, regions enrolled, examples/regions.yaml")
    set_up(hub, regions)
    start_operator(run_dir, env)
    manifest = demo_drop(regions)
    hub.kubectl("hub", "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    console.print(
        f"\n[bold]drop {manifest['metadata']['name']}[/]: pre-scales in {OPENS_IN_S - LEAD_S}s, "
        f"opens in {OPENS_IN_S}s, closes {LIVE_S}s later, back to baseline {COOLDOWN_S}s after"
    )
    watch(hub, manifest)
    print(hub.kubectl("hub", "get", "regions,drops", "-A"))


if __name__ == "__main__":
    main()
