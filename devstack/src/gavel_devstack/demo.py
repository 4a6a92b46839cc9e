"""``scripts/demo``: a drop running end to end on the local stack, for a person to watch.

Brings nothing up itself (``scripts/demo`` runs ``scripts/stack up`` first); it opens
``examples/drop.yaml``, starts a gateway and a relay in the drop's home region and a fan-out in
every region (processes of the stack: ``scripts/stack down`` stops them too), places a few bids
from two bidders through the gateway, and shows what an observer in each region received.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets
import yaml
from rich.console import Console
from rich.table import Table

from gavel import drop_rules, drops, endpoints
from gavel.redis_acl import Role
from gavel_devstack import install, process, stack

console = Console()


def _env(run_dir: Path) -> dict[str, str]:
    state = stack.load_state(run_dir)
    if state is None:
        raise SystemExit("no stack: run scripts/stack up first")
    return dict(line.split("=", 1) for line in stack.env_lines(run_dir, state))


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_previous(run_dir: Path) -> None:
    """Stop the workloads an earlier demo left running (they are listed in demo-pids)."""
    pids = run_dir / "demo-pids"
    if pids.exists():
        for line in pids.read_text().split():
            pid, started = (int(x) for x in line.split(":"))
            process.stop(pid, started, grace_s=10)
        pids.unlink()


def _start(
    run_dir: Path,
    name: str,
    args: list[str],
    env: dict[str, str],
    probe: str,
    *,
    module: str = "gavel",
) -> None:
    pid, started = process.spawn(
        [sys.executable, "-m", module, *args],
        run_dir / "logs" / f"demo-{name}.log",
        cwd=run_dir,
        env=env,
    )
    with (run_dir / "demo-pids").open("a") as pids:
        pids.write(f"{pid}:{started}\n")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(probe, timeout=1).status_code == 200:
                console.print(f"  [green]up[/]   {name:<14} pid {pid:<7} {probe.rsplit('/', 1)[0]}")
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} did not become ready; see {run_dir}/logs/demo-{name}.log")


Seen = list[tuple[float, dict[str, object]]]


async def _watch(url: str, into: Seen, stop: asyncio.Event) -> None:
    async with websockets.connect(url) as ws:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.3)
            except TimeoutError:
                continue
            into.append((time.time() * 1000, json.loads(raw)))


async def _bids(gateway: str, env: dict[str, str], drop: str) -> list[tuple[str, int, str]]:
    from gavel import token_client  # noqa: PLC0415

    names = ["alice", "bob"]
    minted = await asyncio.to_thread(token_client.mint, env[endpoints.TOKEN_MINT_URL], names)
    tokens = dict(zip(names, minted, strict=True))
    placed = []
    async with httpx.AsyncClient(base_url=gateway) as http:
        state = (await http.get(f"/v1/drops/{drop}")).json()
        amount = state["min_next"]
        for i, bidder in enumerate(["alice", "bob", "alice", "bob", "bob"]):
            if i == 4:
                amount -= 1  # bob bids too low once: the gateway says why
            r = await http.post(
                f"/v1/drops/{drop}/bids",
                headers={"Authorization": f"Bearer {tokens[bidder]}"},
                json={"bid_id": f"demo-{time.time_ns()}", "amount": amount},
            )
            body = r.json()
            placed.append(
                (bidder, amount, f"{r.status_code} {body.get('reason', body.get('code'))}")
            )
            amount = body.get("min_next") or amount
            await asyncio.sleep(0.2)
    return placed


async def run(run_dir: Path) -> None:
    env = {**os.environ, **_env(run_dir)}
    _stop_previous(run_dir)
    regions = endpoints.regions(env)
    manifest = yaml.safe_load((install.repo_root() / "examples" / "drop.yaml").read_text())
    rules = drop_rules.rules_from_manifest(manifest)
    urls = {r: endpoints.redis_url(r, env, role=Role.OPERATOR) for r in regions}
    opened = await drops.open_everywhere(rules, urls, drop_rules.listing_from_manifest(manifest))
    console.print(
        f"drop [bold]{rules.drop_id}[/]: " + ", ".join(f"{r} {o}" for r, o in opened.items())
    )
    console.print(_schedule_on_hub(env))
    home = rules.home_region
    gw, relay, login = _free_port(), _free_port(), _free_port()
    fanouts = {region: _free_port() for region in regions}
    # Every region's drop page may bid at the gateway and sign in at the demo login.
    pages = [a for port in fanouts.values() for a in ("--allow-origin", f"http://127.0.0.1:{port}")]
    outbox = run_dir / f"outbox-{home}"
    _start(
        run_dir,
        f"gateway-{home}",
        ["gateway", "--region", home, "--port", str(gw), "--outbox-dir", str(outbox), *pages],
        env,
        f"http://127.0.0.1:{gw}/readyz",
    )
    _start(
        run_dir,
        "demo-login",
        ["--port", str(login), *pages],
        env,
        f"http://127.0.0.1:{login}/healthz",
        module="gavel_devstack.demo_login",
    )
    _start(
        run_dir,
        f"relay-{home}",
        ["relay", "--region", home, "--port", str(relay), "--outbox-dir", str(outbox)],
        env,
        f"http://127.0.0.1:{relay}/readyz",
    )
    writers = {}
    for region in regions:  # every region audits the attempts its own gateways took
        port = writers[region] = _free_port()
        _start(
            run_dir,
            f"audit-writer-{region}",
            ["audit-writer", "--region", region, "--port", str(port)],
            env,
            f"http://127.0.0.1:{port}/readyz",
        )
    for region, port in fanouts.items():
        _start(
            run_dir,
            f"fanout-{region}",
            [
                "fanout",
                *("--region", region, "--port", str(port)),
                *("--gateway-url", f"{home}=http://127.0.0.1:{gw}"),
                *("--demo-login-url", f"http://127.0.0.1:{login}/token"),
            ],
            env,
            f"http://127.0.0.1:{port}/readyz",
        )
    seen: dict[str, Seen] = {r: [] for r in regions}
    stop = asyncio.Event()
    watchers = [
        asyncio.create_task(
            _watch(f"ws://127.0.0.1:{port}/v1/drops/{rules.drop_id}/live", seen[r], stop)
        )
        for r, port in fanouts.items()
    ]
    await asyncio.sleep(1)
    placed = await _bids(f"http://127.0.0.1:{gw}", env, rules.drop_id)
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.gather(*watchers)

    bids = Table(title=f"Bids through the {home} gateway")
    for col in ("bidder", "amount (cents)", "answer"):
        bids.add_column(col)
    for bidder, amount, answer in placed:
        bids.add_row(bidder, f"{amount:,}", answer)
    console.print(bids)
    live = Table(title="What observers saw (snapshot on connect, then one price per accepted bid)")
    for col in ("region", "type", "seq", "high bid", "leader", "ms after the decision"):
        live.add_column(col)
    for region, messages in seen.items():
        for received, m in messages:
            decided = m.get("decided_ms")
            lag = f"{received - float(str(decided)):.1f}" if m["type"] == "price" else ""
            live.add_row(
                region,
                str(m["type"]),
                str(m["seq"]),
                f"{m['high_bid'] or '-'}",
                str(m["leader_alias"] or "-"),
                lag,
            )
    console.print(live)
    console.print("\n[bold]Audit trail[/] (the audit writer's rows in Cassandra):")
    console.print(await asyncio.to_thread(_audit, env, rules.drop_id, len(placed)))
    console.print(
        f"\nRunning: gateway http://127.0.0.1:{gw}, relay :{relay}, fan-outs "
        + ", ".join(f"{r} ws://127.0.0.1:{p}" for r, p in fanouts.items())
        + f"\nTry: TOKEN=$(gavel token mint --bidder you); curl -X POST "
        f'http://127.0.0.1:{gw}/v1/drops/{rules.drop_id}/bids -H "Authorization: Bearer '
        '$TOKEN" -H \'Content-Type: application/json\' -d \'{"bid_id":"1","amount":...}\''
        f"\nLogs: {run_dir}/logs/demo-*.log. Stop everything with: scripts/stack down"
    )
    console.print("\n[bold]The live drop page[/] (open it in a browser; sign in with any name):")
    for region, port in fanouts.items():
        console.print(f"  {region}: http://127.0.0.1:{port}/drops/{rules.drop_id}")
    console.print(
        '\n[bold]Watch the drop live[/] (Ctrl-C to leave; after eval "$(scripts/stack env)"):',
        soft_wrap=True,
    )
    console.print(_watch_command(rules.drop_id, writers), soft_wrap=True, markup=False)
    console.print(f"gavel drops results {rules.drop_id}", markup=False)


def _watch_command(drop: str, writers: dict[str, int]) -> str:
    """Observers per region come from each region's Redis (the fan-outs record them there);
    only the audit writers' lag needs their addresses."""
    flags = [f"--audit-writer {r}=http://127.0.0.1:{p}" for r, p in writers.items()]
    return " ".join([f"gavel drops watch {drop}", *flags])


def _schedule_on_hub(env: dict[str, str]) -> str:
    """Install the CRDs in the hub and schedule examples/drop.yaml there; says how it went."""
    if not env.get(endpoints.HUB_KUBECONFIG):
        return "hub: not running (no KUBECONFIG_HUB), the drop is not scheduled there"
    root = install.repo_root()
    kubectl = [str(install.k8s_dir() / "bin" / "kubectl"), "--kubeconfig", env["KUBECONFIG_HUB"]]
    for args in (
        ["apply", "--server-side", "-f", str(root / "crds")],
        ["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"],
    ):
        done = subprocess.run([*kubectl, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    schedule = [sys.executable, "-m", "gavel", "drops", "schedule", "examples/drop.yaml"]
    done = subprocess.run(schedule, env=env, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"gavel drops schedule: {done.stderr.strip()}")
    return f"hub: {done.stdout.strip()}"


def _audit(env: dict[str, str], drop: str, at_least: int) -> str:
    """Wait (up to 60 s: a fresh writer first reads the topic's history) until the audit trail
    holds ``at_least`` attempts of ``drop``, then print it; returns how it went."""
    show = [sys.executable, "-m", "gavel", "audit", "show", drop, "--all"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = subprocess.run(
            [*show, "--json"], env=env, capture_output=True, text=True, check=False
        )
        if out.returncode == 0 and len(out.stdout.splitlines()) >= at_least:
            subprocess.run(show, env={**env, "COLUMNS": "160"}, check=False)
            return f"gavel audit show {drop}: every attempt above, accepted or not"
        time.sleep(1)
    return f"not all {at_least} attempts reached Cassandra within 60 s; try gavel audit show"


def main() -> None:
    asyncio.run(run(stack.default_run_dir().resolve()))


if __name__ == "__main__":
    main()
