"""Joining a Ray cluster, or starting a quiet local Ray sized to this machine."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from curate.job import JobError

log = logging.getLogger("curate")


class _Session:
    """A shutdown of this process's Ray still under way (`stop_ray_in_background`)."""

    stopping: threading.Thread | None = None


def init_ray(address: str | None = None, num_cpus: int | None = None) -> dict[str, Any]:
    """Join the cluster at `address` (or RAY_ADDRESS), else start a quiet local Ray sized to this machine."""
    import ray

    if _Session.stopping is not None:  # the previous run's Ray goes first: never join a dying one
        _Session.stopping.join()
        _Session.stopping = None
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": logging.ERROR if not log.isEnabledFor(logging.INFO) else logging.INFO, "configure_logging": True}
        if address:
            _check_reachable(address)
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as e:  # unreachable, refused, malformed
                raise JobError(f"cannot join the Ray cluster at {address}: {e}") from None
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)
    if not log.isEnabledFor(logging.INFO):  # Ray Data's own progress chatter; our summary follows the run
        # CRITICAL: a failed task's traceback comes back as our exception; curate reports it once, clearly
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # one bar per operator and execution; curate.progress shows the phases
    ctx.print_on_execution_start = False
    res = ray.cluster_resources()
    return {"address": address or "local", "nodes": len(ray.nodes()), "cpus": res.get("CPU", 0)}


def ray_connected() -> bool:
    """True when this process is already connected to a Ray (started by a caller, a test's, or a run before)."""
    import ray

    return ray.is_initialized()


def stop_ray_in_background() -> None:
    """Shut down (or leave) this process's Ray in a thread, while the caller goes on with work that needs no Ray.

    Ray's own shutdown at exit runs after everything else, waits on each of its processes in turn and sleeps
    half a second first; started here, it overlaps the run's last driver work (manifest, dashboards). Not a
    daemon thread: the interpreter waits for it before exiting; `init_ray` waits for it too.
    """
    import ray

    if ray.is_initialized():
        _Session.stopping = threading.Thread(target=ray.shutdown, name="curate-ray-shutdown")
        _Session.stopping.start()


def _check_reachable(address: str) -> None:
    """Fail fast on a HOST:PORT that nothing listens on (ray.init would retry for minutes)."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # "auto", ray:// and the like: Ray resolves and reports them itself
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as e:
        raise JobError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}") from None
