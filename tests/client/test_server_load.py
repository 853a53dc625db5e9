"""A real ``shipway server`` process under real client processes: several clients at once
lose no value, and a 2 GiB artifact passes through both ways with flat memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shipway.config import Settings
from shipway.store import open_stores
from tests.client.conftest import peak_rss_mb, start_server_process
from tests.conftest import stop_process

CLIENT = """
import json, sys
import shipway as sw
job = int(sys.argv[1])
run = sw.start_run(experiment="shared", name=f"job{job}", params={"job": job})
print(json.dumps({"run_id": run.run_id}), flush=True)
for step in range(5000):
    sw.log_metric("loss", job + step / 10000, step=step)
    if step % 1000 == 0:
        sw.log_metrics({f"m{step}": 1.0}, step=step)
sw.set_tag("done", "yes")
if job % 2 == 0:
    sw.end_run()
# The odd jobs just exit: the buffered values are sent and the run ended at process exit.
"""


def _client_env(tmp_path: Path, url: str) -> dict[str, str]:
    env = {**os.environ, "SHIPWAY_TRACKING_URI": url, "SHIPWAY_HOME": str(tmp_path / "client")}
    env["SHIPWAY_FLUSH_SECONDS"] = "0.2"  # many small background batches, to interleave clients
    return env


def test_several_client_processes_lose_no_value(tmp_path: Path) -> None:
    server, url = start_server_process(tmp_path)
    try:
        clients = [
            subprocess.Popen(
                [sys.executable, "-c", CLIENT, str(job)],
                env=_client_env(tmp_path, url),
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for job in range(4)
        ]
        run_ids = []
        for client in clients:
            out, err = client.communicate(timeout=300)
            assert client.returncode == 0, err.decode()
            run_ids.append(json.loads(out.decode().strip().splitlines()[0])["run_id"])
    finally:
        stop_process(server)
    stores = open_stores(Settings.resolve({"home": tmp_path / "server-home"}, environ={}))
    try:
        for job, run_id in enumerate(run_ids):
            run = stores.tracking.get_run(run_id)
            history = stores.tracking.get_metric_history(run_id, "loss")
            assert run.status.value == "FINISHED" and run.tags["done"] == "yes"
            assert [m.step for m in history] == list(range(5000)), f"job {job} lost values"
            assert [m.value for m in history] == [job + s / 10000 for s in range(5000)]
            assert sorted(k for k in run.metrics if k.startswith("m")) == sorted(
                f"m{s}" for s in range(0, 5000, 1000)
            )
    finally:
        stores.close()


TRANSFER = """
import json, sys
from pathlib import Path
import shipway as sw
from shipway.session import current
source, back = Path(sys.argv[1]), Path(sys.argv[2])
with sw.start_run(experiment="big") as run:
    sw.log_artifact(source, "weights")
tracking = current().tracking
(info,) = tracking.list_artifacts(run.run_id, "weights")
tracking.download_artifacts(run.run_id, "weights/" + source.name, back)  # every byte hashed
# VmHWM, not ru_maxrss: ru_maxrss would count the forking test process's pages too.
hwm = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
print(json.dumps({"size": info.size, "peak_mb": int(hwm.split()[1]) / 1024}))
"""


def test_a_2gib_artifact_passes_through_with_flat_memory(tmp_path: Path) -> None:
    size = 2 * 2**30
    source = tmp_path / "model.bin"
    with source.open("wb") as f:  # sparse: costs no disk, reads as zeros
        f.truncate(size)
    server, url = start_server_process(tmp_path)
    try:
        before = peak_rss_mb(server.pid)
        client = subprocess.run(
            [sys.executable, "-c", TRANSFER, str(source), str(tmp_path / "back")],
            env=_client_env(tmp_path, url),
            cwd=tmp_path,
            capture_output=True,
            timeout=600,
        )
        assert client.returncode == 0, client.stderr.decode()
        server_growth = peak_rss_mb(server.pid) - before
    finally:
        stop_process(server)
    report = json.loads(client.stdout.decode().strip().splitlines()[-1])
    assert report["size"] == size
    assert (tmp_path / "back" / "model.bin").stat().st_size == size
    assert server_growth < 150, f"the server's memory grew by {server_growth:.0f} MiB"
    assert report["peak_mb"] < 400, f"the client peaked at {report['peak_mb']:.0f} MiB"
