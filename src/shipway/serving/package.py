"""``shipway package``: a self-contained bundle that serves one model version anywhere.

The bundle holds an embedded store with the model (its files hash-checked on the way) and
a deployment of it, so the bundle's server is the same ``shipway serve`` with the same
checks, wire formats, metrics and prediction log. Beside it: pinned requirements, a
Dockerfile, and a Kubernetes manifest (Deployment and Service, with readiness and liveness
probes on the health routes). When shipway itself runs from a source checkout rather than
from an index, a wheel of it is built into ``wheels/`` and the requirements point there.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from shipway import __version__
from shipway.config import Settings
from shipway.distribution import shipway_wheel
from shipway.errors import InvalidArgument
from shipway.registry.backend import RegistryBackend
from shipway.tracking.model_logging import MODELS_TAG

if TYPE_CHECKING:
    from shipway.types import ModelVersion

PORT = 8000


def package_model(
    registry: RegistryBackend, uri: str, out: Path, *, name: str | None = None
) -> Path:
    """Write the bundle for ``uri`` (``models:/NAME/VERSION`` or ``models:/NAME@STAGE``) to ``out``."""
    version = registry.resolve(uri)
    deployment = _dns_name(name or version.name)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidArgument(f"{out} is not empty", hint="package into a new, empty folder")
    # Built beside ``out`` and moved there only when complete: a failure leaves nothing behind.
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        _build(registry, uri, version, deployment, staging)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _build(
    registry: RegistryBackend, uri: str, version: ModelVersion, deployment: str, out: Path
) -> None:
    from shipway.session import Session

    if version.run_id is None:  # the files are the run's: without one there is nothing to copy
        raise InvalidArgument(f"{uri} was registered without a run: it has no files to package")
    with tempfile.TemporaryDirectory(prefix="shipway-package-") as tmp:
        source = registry.tracking.download_artifacts(
            version.run_id, _model_path(version), Path(tmp)
        )
        document = json.loads((source / "MODEL.json").read_text())
        settings = Settings.resolve(
            {"home": out / "store", "user": registry.actor}, environ={}, cwd=out
        )
        bundle = Session(settings)  # the bundle's own embedded store
        try:
            run = bundle.tracking.create_run(
                "packaged",
                name=f"{version.name}-v{version.version}",
                tags={"shipway.packaged_from": version.uri},
                capture_environment=False,
            )
            bundle.tracking.log_artifacts(run.run_id, source, "model")
            bundle.tracking.set_tags(run.run_id, {MODELS_TAG: "model"})
            bundle.tracking.end_run(run.run_id)
            registered = bundle.registry.register(
                run.run_id, version.name, description=f"packaged from {version.uri}"
            )
            bundle.deployments.deploy(
                deployment,
                model=version.name,
                version=registered.version,
                reason=f"shipway package {uri}",
            )
        finally:
            bundle.close()
    (out / "shipway.toml").write_text('home = "store"\n')
    wheels = shipway_wheel(out / "wheels")
    requirements = _requirements(document.get("requirements", []), wheels)
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (out / "Dockerfile").write_text(_dockerfile(deployment, wheels is not None))
    (out / "kubernetes.yaml").write_text(_manifest(deployment, f"{deployment}:{version.version}"))
    (out / ".dockerignore").write_text("store/predictions\nstore/ground_truth\nstore/profiles\n")


def _model_path(version: ModelVersion) -> str:
    return version.source.split("/", 3)[3] if version.source.count("/") >= 3 else "model"


def _dns_name(value: str) -> str:
    clean = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:63]
    if not clean:
        raise InvalidArgument(f"cannot make a deployment name out of {value!r}", hint="pass --name")
    return clean


def _requirements(model_requirements: list[str], wheels: Path | None) -> list[str]:

    lines = ["# Pinned at packaging time: what the model was saved with, and this shipway."]
    if wheels is not None:
        lines.append("--find-links wheels")
    lines.append(f"shipway=={__version__}")
    lines += sorted(set(model_requirements))
    return lines


def _dockerfile(deployment: str, wheels: bool) -> str:
    python = ".".join(str(p) for p in sys.version_info[:2])
    copy_wheels = "COPY wheels/ wheels/\n" if wheels else ""
    return f"""FROM python:{python}-slim
WORKDIR /app
{copy_wheels}COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY shipway.toml .
COPY store/ store/
ENV SHIPWAY_HOME=/app/store
EXPOSE {PORT}
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/v2/health/ready')"
# The bundle's store has no tokens, so the server takes calls from anyone who can reach the
# container (--insecure): keep it behind your gateway, or create tokens in the bundle's store.
CMD ["shipway", "serve", "{deployment}", "--host", "0.0.0.0", "--port", "{PORT}", "--insecure"]
"""


def _manifest(deployment: str, image: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {deployment}
  labels: {{app: {deployment}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {deployment}}}
  template:
    metadata:
      labels: {{app: {deployment}}}
    spec:
      containers:
        - name: model-server
          image: {image}
          ports: [{{containerPort: {PORT}, name: http}}]
          readinessProbe:
            httpGet: {{path: /v2/health/ready, port: http}}
            periodSeconds: 5
          livenessProbe:
            httpGet: {{path: /v2/health/live, port: http}}
            initialDelaySeconds: 10
            periodSeconds: 10
          resources:
            requests: {{cpu: 500m, memory: 512Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: {deployment}
spec:
  selector: {{app: {deployment}}}
  ports: [{{port: 80, targetPort: http, name: http}}]
"""
