"""`curate run --address` on a real two-node Ray cluster on this machine gives the local run's output.

The fixture starts a head (`ray start --head`) and a second node (`ray start --address`), one CPU and a
resource of its own each, addressed on 127.0.0.1, every port chosen free and their files in a temp dir of
their own, so the test neither collides with nor stops any other Ray on the machine (never `ray stop`:
it stops every Ray of the user). `curate run jobs/demo.yaml` then runs on that cluster and on a local
Ray, both as the command a user types, and the two outputs must be the same bytes; the workers' logs show
that both nodes did part of the work.

Ray rewrites a 127.0.0.1 node address to the machine's own (both nodes show as node:<host ip>), and its
servers listen on every interface; so the cluster also runs with a token of its own (see TwoNodeCluster).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RAY = str(BIN / "ray")
CURATE = str(BIN / "curate")
# A session dir holds unix sockets (raylet, plasma store) whose paths must stay under ~107 bytes, and
# pytest's tmp_path is too deep for that: the cluster gets a short folder of its own under /tmp.
SHORT_TMP = "/tmp"
OBJECT_STORE_BYTES = 300_000_000  # per node: the demo needs little, and the machine is shared
START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 480

pytestmark = pytest.mark.ray


def free_ports(n: int) -> list[int]:
    """`n` distinct ports free on loopback now (held together while chosen, so they differ)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def clean_env(**ray_env: str) -> dict[str, str]:
    """This environment without RAY_ADDRESS (or any RAY_ setting a developer may have), so each run goes
    where its command line says, plus `ray_env`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")}, **ray_env}


@dataclass
class TwoNodeCluster:
    """A head and a second node started by `ray start` on 127.0.0.1, all their files under `temp_dir`.

    Ray (2.5x+) turns token authentication on for a new head when ~/.ray/auth_token exists (a local
    `ray.init()` writes one) but not for a joining node, so left to the user's files the second node may
    be refused. The cluster therefore runs with a token of its own, as a real cluster should: `env` is
    what every process that talks to it needs (RAY_AUTH_MODE=token, RAY_AUTH_TOKEN_PATH).
    """

    address: str
    temp_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.temp_dir / "auth_token")}

    @property
    def node_dirs(self) -> dict[str, Path]:
        """Each node's own --temp-dir (its sockets, its workers' logs), by the node's resource name."""
        return {"head": self.temp_dir, "worker2": self.temp_dir / "n2"}


def _ray_start(cluster: TwoNodeCluster, args: list[str], log: Path) -> None:
    """`ray start ARGS` with the cluster's token, run from its temp dir: its processes inherit that working
    folder (how `cluster_processes` finds them), and workers see no checkout-relative path by accident."""
    with open(log, "ab") as f:
        proc = subprocess.run([RAY, "start", *args], cwd=cluster.temp_dir, env=clean_env(**cluster.env), stdout=f,
                              stderr=subprocess.STDOUT, timeout=START_TIMEOUT_S)
    if proc.returncode:
        raise RuntimeError(f"ray start {' '.join(args)} failed ({proc.returncode}):\n{log.read_text(errors='replace')}")


def _node_args(resources: dict[str, int]) -> list[str]:
    """Options every node gets: one CPU, its own named resource, and free ports for each of its servers
    (Ray's defaults, e.g. 10001 for the client server or 52365 for the dashboard agent, may be taken by
    another Ray on this machine); worker ports 0/0 let the OS pick (as Ray's own test Cluster does)."""
    nm, om, agent, agent_grpc, runtime_env, metrics = free_ports(6)
    return [
        "--num-cpus=1", f"--resources={json.dumps(resources)}", f"--object-store-memory={OBJECT_STORE_BYTES}",
        f"--node-manager-port={nm}", f"--object-manager-port={om}", f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}", f"--runtime-env-agent-port={runtime_env}",
        f"--metrics-export-port={metrics}", "--min-worker-port=0", "--max-worker-port=0",
        "--disable-usage-stats",
    ]


def cluster_processes(temp_dir: Path) -> list[psutil.Process]:
    """Every live process of the cluster under `temp_dir`, and their descendants.

    Ray's daemons name the temp dir on their command lines, but its agents and workers retitle
    themselves (`ray::IDLE`), which also hides their environment; every one of them inherits the working
    directory of `ray start`, though, which is `temp_dir`.
    """
    names_it = re.compile(re.escape(str(temp_dir)) + r"(?![^/\s])").search  # the folder, not /tmp/rc-xyz2
    found: dict[int, psutil.Process] = {}
    for p in psutil.process_iter(["cmdline", "cwd"]):
        with contextlib.suppress(psutil.Error):
            ours = names_it(p.info["cwd"] or "") or any(names_it(a) for a in p.info["cmdline"] or ())
            if ours and p.pid != os.getpid():
                found[p.pid] = p
                found.update((c.pid, c) for c in p.children(recursive=True))
    return list(found.values())


def stop_cluster(temp_dir: Path) -> None:
    """Stop this cluster's processes only (never `ray stop`): SIGTERM, SIGKILL for what is left after 3 s
    (Ray's agents do not stop on SIGTERM)."""
    procs = cluster_processes(temp_dir)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=3)
    for p in alive + cluster_processes(temp_dir):  # and any process started meanwhile
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)


_NODES = """
import json, sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print("NODES=" + json.dumps([{"alive": n["Alive"], "resources": n["Resources"], "id": n["NodeID"]}
                             for n in ray.nodes()]))
"""


def alive_nodes(cluster: TwoNodeCluster) -> list[dict]:
    """The cluster's live nodes as `ray.nodes()` reports them, from a separate driver (this process stays
    Ray-free)."""
    proc = subprocess.run([sys.executable, "-c", _NODES, cluster.address], capture_output=True, text=True,
                          env=clean_env(**cluster.env),
                          timeout=START_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("NODES="))
    return [n for n in json.loads(line.removeprefix("NODES=")) if n["alive"]]


def _client_server_args() -> list[str]:
    """A free port for the head's Ray Client server when ray[client] is installed (its default, 10001, may
    be another Ray's); without it Ray starts no client server and refuses the option."""
    import importlib.util

    return [f"--ray-client-server-port={free_ports(1)[0]}"] if importlib.util.find_spec("grpc") else []


@pytest.fixture(scope="module")
def two_node_cluster() -> Iterator[TwoNodeCluster]:
    """A head with resource `head` and a second node with resource `worker2`, one CPU each, on loopback."""
    import secrets
    import shutil

    temp_dir = Path(tempfile.mkdtemp(prefix="rc-", dir=SHORT_TMP))
    gcs, dashboard = free_ports(2)
    cluster = TwoNodeCluster(f"127.0.0.1:{gcs}", temp_dir)
    token = temp_dir / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    log = temp_dir / "start.log"
    try:
        # --include-dashboard=false drops the web UI, but the dashboard's head process still starts (on
        # 8265 unless told otherwise)
        dirs = cluster.node_dirs
        _ray_start(cluster, ["--head", "--node-ip-address=127.0.0.1", f"--port={gcs}", *_client_server_args(),
                             "--include-dashboard=false", f"--dashboard-port={dashboard}",
                             f"--temp-dir={dirs['head']}", *_node_args({"head": 1})], log)
        _ray_start(cluster, [f"--address={cluster.address}", "--node-ip-address=127.0.0.1",
                             f"--temp-dir={dirs['worker2']}", *_node_args({"worker2": 1})], log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(nodes := alive_nodes(cluster)) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert sorted(k for n in nodes for k in n["resources"] if k in ("head", "worker2")) == ["head", "worker2"], nodes
        yield cluster
    finally:
        stop_cluster(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def curate_runs(outs: dict[Path, TwoNodeCluster | None]) -> list[dict]:
    """`curate run jobs/demo.yaml -o OUT [--address ADDR]` as a user types it, for each OUT at once; their
    manifests.

    At once, because much of a small run is Ray's start-up latency rather than CPU: the two take little
    more than the slower one. The outputs do not depend on timing.
    """
    procs = []
    for out, cluster in outs.items():
        cmd = [CURATE, "run", "jobs/demo.yaml", "-o", str(out), *(["--address", cluster.address] if cluster else [])]
        env = clean_env(**cluster.env) if cluster else clean_env()
        log = open(out.with_suffix(".log"), "w+")  # noqa: SIM115 - closed below, after the process ends
        procs.append((cmd, log, subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)))
    try:
        for cmd, log, proc in procs:
            returncode = proc.wait(timeout=RUN_TIMEOUT_S)
            log.seek(0)
            assert returncode == 0, f"{' '.join(cmd)}\n{log.read()}"
    finally:
        for _, log, proc in procs:
            if proc.poll() is None:
                proc.kill()  # its local Ray's reaper stops that Ray
            log.close()
    return [json.loads((out / "manifest.json").read_text(encoding="utf-8")) for out in outs]


def snapshot(out: Path) -> dict[str, str]:
    """sha256 of every shard and stats file, by its path in OUT."""
    return {f"{sub}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("data", "rejects", "stats") for p in sorted((out / sub).iterdir())}


def tasks_by_node(cluster: TwoNodeCluster) -> dict[str, set[str]]:
    """The Ray task names each node's workers ran, from the `:task_name:` lines Ray writes to a worker's
    log before each task (how it attributes worker output to tasks)."""
    from ray._private.ray_constants import LOG_PREFIX_TASK_NAME

    names: dict[str, set[str]] = {}
    for node, root in cluster.node_dirs.items():
        logs = sorted((root / "session_latest" / "logs").glob("worker-*.out"))
        names[node] = {line.removeprefix(LOG_PREFIX_TASK_NAME).strip() for f in logs
                       for line in f.read_text(errors="replace").splitlines() if line.startswith(LOG_PREFIX_TASK_NAME)}
    return names


def test_the_demo_on_a_two_node_cluster_equals_the_local_run(two_node_cluster, tmp_path) -> None:
    cluster, local = curate_runs({tmp_path / "cluster": two_node_cluster, tmp_path / "local": None})

    assert cluster["ray"]["address"] == two_node_cluster.address and local["ray"]["address"] == "local"
    assert cluster["ray"]["nodes"] == 2 and cluster["ray"]["cpus"] == 2, cluster["ray"]
    assert all(f["reconciled"] for f in cluster["inputs"]), cluster["inputs"]
    assert cluster["totals"] == local["totals"] and cluster["totals"]["records_in"] > 0
    assert cluster["inputs"] == local["inputs"]
    assert cluster["dedup"] == local["dedup"] | {"seconds": cluster["dedup"]["seconds"]}
    snap_cluster, snap_local = snapshot(tmp_path / "cluster"), snapshot(tmp_path / "local")
    assert sorted(snap_cluster) == sorted(snap_local), "the same shard and stats files"
    assert any(k.startswith("data/") for k in snap_cluster) and any(k.startswith("rejects/") for k in snap_cluster)
    assert snap_cluster == snap_local, "the same bytes"

    # Ray Data spreads its tasks over the nodes (its default SPREAD strategy), and each node has one CPU:
    # both read and run per_record
    ran = tasks_by_node(two_node_cluster)
    for node, names in ran.items():
        assert any("_phase_task" in n for n in names), f"{node} ran no per_record task: {ran}"
