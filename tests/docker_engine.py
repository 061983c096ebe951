"""A Docker engine for the compose-stack test, and the images it runs.

`engine()` finds a working engine (or starts `dockerd` as root and says so) and a compose
client; when that is impossible it raises EngineUnavailable with the one reason the test
prints when it skips. `build_images()` builds, with the engine's layer cache:
- stockgate-local/debian:bookworm: `debootstrap --variant=minbase` imported into docker
  (only when the engine does not have it yet);
- stockgate-local/python, postgres, redis, nginx: docker/local/*.Dockerfile on that base, from
  Debian packages (the official images come from a registry this machine cannot reach);
- the application image from docker/Dockerfile with BASE_IMAGE=stockgate-local/python,
  tagged by the hash of its build context.
Builds use the host's network (package registries only); the stack's containers do not.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import shutil
import ssl
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKER_DIR = REPO / "docker"
LOCAL_DIR = DOCKER_DIR / "local"
DEBIAN_IMAGE = "stockgate-local/debian:bookworm"
PYTHON_IMAGE = "stockgate-local/python:3.11-bookworm"
LOCAL_IMAGES = {  # image name -> Dockerfile in docker/local
    "stockgate-local/postgres:15-bookworm": "postgres.Dockerfile",
    "stockgate-local/redis:7-bookworm": "redis.Dockerfile",
    "stockgate-local/nginx:1-bookworm": "nginx.Dockerfile",
}
DEBIAN_MIRROR = os.environ.get("STOCKGATE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BUILD_TIMEOUT = 900


class EngineUnavailable(Exception):
    """No Docker engine can run here; the message says why in one line."""


@dataclass
class Engine:
    docker: str
    compose: list[str]
    started: subprocess.Popen[bytes] | None  # the dockerd this test started, if any
    log: Path | None

    def stop_if_started(self) -> None:
        """Stop the dockerd this test started (its containers are gone by then)."""
        if self.started is None or self.started.poll() is not None:
            return
        self.started.terminate()
        try:
            self.started.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.started.kill()
            self.started.wait(timeout=10)


def run(cmd: list[str], *, timeout: float = 120, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def _answers(docker: str) -> bool:
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _compose_command(docker: str) -> list[str] | None:
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _start_dockerd(log: Path) -> subprocess.Popen[bytes]:
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise EngineUnavailable("no Docker engine: dockerd is not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        raise EngineUnavailable("no Docker engine: dockerd is not running and only root can start it")
    # No forwarding and no masquerading: the stack's containers reach each other and the
    # host's published loopback port, and nothing beyond this machine.
    with log.open("wb") as out:
        return subprocess.Popen(
            [dockerd, "--ip-forward=false", "--ip-masq=false"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )


def engine(log_dir: Path, wait: float = 60) -> Engine:
    docker = shutil.which("docker")
    if docker is None:
        raise EngineUnavailable("no Docker engine: the docker client is not installed (apt-get install docker.io)")
    compose = _compose_command(docker)
    if compose is None:
        raise EngineUnavailable("no compose client: neither `docker compose` nor docker-compose is installed")
    if _answers(docker):
        return Engine(docker, compose, None, None)
    log = log_dir / "dockerd.log"
    proc = _start_dockerd(log)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _answers(docker):
            return Engine(docker, compose, proc, log)
        time.sleep(0.5)
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    why = lines[-1][-200:] if lines else f"exit code {proc.returncode}"
    raise EngineUnavailable(f"no Docker engine: dockerd did not start within {wait:.0f} s ({why})")


def image_exists(docker: str, name: str) -> bool:
    return subprocess.run([docker, "image", "inspect", name], capture_output=True).returncode == 0


def image_size(docker: str, name: str) -> int:
    return int(run([docker, "image", "inspect", "-f", "{{.Size}}", name]).stdout.strip())


def _build(docker: str, tag: str, context: str | Path, *args: str, stdin: bytes | None = None) -> None:
    cmd = [docker, "build", "-q", "--network", "host", "-t", tag, *args, str(context)]
    # The classic builder: it needs no buildx plugin and no frontend image from a registry.
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    result = subprocess.run(cmd, input=stdin, capture_output=True, timeout=BUILD_TIMEOUT, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"building {tag} failed:\n{result.stdout.decode()[-3000:]}\n{result.stderr.decode()[-5000:]}")


def ca_bundle() -> Path:
    """The CA bundle this machine's pip trusts (its package downloads go the same way)."""
    candidates = [os.environ.get(name) for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")]
    candidates += [ssl.get_default_verify_paths().cafile, "/etc/ssl/certs/ca-certificates.crt"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError("no CA bundle found for the image builds (set PIP_CERT)")


def _debian_base(docker: str, work: Path) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise EngineUnavailable("cannot build the local base image: debootstrap is not installed (apt-get install debootstrap)")
    root = work / "rootfs"
    run([debootstrap, "--variant=minbase", "bookworm", str(root), DEBIAN_MIRROR], timeout=BUILD_TIMEOUT)
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):  # downloaded packages: not part of the image
        for item in (root / cache).glob("*"):
            if item.is_file():
                item.unlink()
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    try:
        run([docker, "import", "-", DEBIAN_IMAGE], stdin=tar.stdout, timeout=BUILD_TIMEOUT)
    finally:
        tar.wait()
        shutil.rmtree(root, ignore_errors=True)


def _ignore_rules() -> tuple[list[str], list[str]]:
    """docker/Dockerfile.dockerignore: `**` then `!path` includes, then excluded patterns."""
    includes, excludes = [], []
    for line in (DOCKER_DIR / "Dockerfile.dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == "**":
            continue
        if line.startswith("!"):
            includes.append(line[1:].rstrip("/"))
        else:
            excludes.append(line.removeprefix("**/"))
    return includes, excludes


def app_context() -> bytes:
    """The application's build context as a tar: what Dockerfile.dockerignore lets in,
    whatever files those folders hold today, plus the Dockerfile. Fixed owners and times,
    so the same sources give the same bytes (and the engine's cache hits)."""
    includes, excludes = _ignore_rules()
    paths: list[Path] = [DOCKER_DIR / "Dockerfile"]
    for include in includes:
        top = REPO / include
        candidates = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in candidates:
            parts = path.relative_to(REPO).parts
            if not any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in excludes):
                paths.append(path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(set(paths)):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(REPO)))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()


def build_images(docker: str) -> tuple[str, dict[str, float]]:
    """Build every image the test stack runs; return the application's tag and the seconds
    each step took."""
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="stockgate-images-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        if not image_exists(docker, DEBIAN_IMAGE):
            _debian_base(docker, work)
        seconds["debian base"] = time.monotonic() - started

        started = time.monotonic()
        python_ctx = work / "python"
        python_ctx.mkdir()
        shutil.copy(LOCAL_DIR / "python.Dockerfile", python_ctx / "Dockerfile")
        shutil.copy(ca_bundle(), python_ctx / "ca-bundle.crt")
        _build(docker, PYTHON_IMAGE, python_ctx)
        for image, dockerfile in LOCAL_IMAGES.items():
            _build(docker, image, LOCAL_DIR, "-f", str(LOCAL_DIR / dockerfile))
        seconds["local images"] = time.monotonic() - started

    started = time.monotonic()
    context = app_context()
    tag = "e2e-" + hashlib.sha256(context).hexdigest()[:12]
    _build(docker, f"stockgate:{tag}", "-", "-f", "docker/Dockerfile", "--build-arg", f"BASE_IMAGE={PYTHON_IMAGE}",
           stdin=context)
    seconds["application image"] = time.monotonic() - started
    return tag, seconds


def inspect(docker: str, *ids: str) -> list[dict[str, object]]:
    if not ids:
        return []
    data: list[dict[str, object]] = json.loads(run([docker, "inspect", *ids]).stdout)
    return data
