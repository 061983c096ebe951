"""A Docker engine for the compose-stack test, and the images it runs.

`engine()` finds a working engine (or starts `dockerd` as root and says so) and a compose
client; when that is impossible it raises EngineUnavailable with the one reason the test
prints when it skips. `build_images()` builds, with the engine's layer cache:
- stockgate-local/debian:bookworm: `debootstrap --variant=minbase` imported into docker
  (only when the engine does not have it yet);
- stockgate-local/python: docker/local/python.Dockerfile, this machine's CPython 3.11
  under /usr/local as the official image has it (Debian's 3.11.2 is older than the lock
  allows), with the host's CA bundle for pip;
- stockgate-local/postgres, redis, nginx: docker/local/*.Dockerfile on the Debian base,
  from Debian packages (the official images come from a registry this machine cannot reach);
- the application image from docker/Dockerfile with BASE_IMAGE=stockgate-local/python,
  tagged by the hash of its build context.
The Python chain and the three service images are built side by side. Builds use the
host's network (package registries only); the stack's containers do not.
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
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.docker_dns import BRIDGE_ADDRESS, BRIDGE_CIDR, NxdomainServer

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
    dns: NxdomainServer | None = field(default=None)  # the started dockerd's upstream DNS

    def stop_if_started(self) -> None:
        """Stop the dockerd this test started (its containers are gone by then)."""
        if self.dns is not None:
            self.dns.stop()
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
    # host's published loopback port, and nothing beyond this machine. Their upstream DNS
    # is the stub on the bridge (tests/docker_dns.py): unknown names fail at once.
    with log.open("wb") as out:
        return subprocess.Popen(
            [dockerd, "--ip-forward=false", "--ip-masq=false", f"--bip={BRIDGE_CIDR}", f"--dns={BRIDGE_ADDRESS}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )


DOCKER_SOCKET = Path("/var/run/docker.sock")
# Where the docker client looks for its `compose` plugin.
COMPOSE_PLUGIN_DIRS = (
    str(Path.home() / ".docker" / "cli-plugins"), "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins", "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins",
)


def unavailable_reason() -> str | None:
    """Why no engine can run here, from what is installed alone (nothing started, nothing
    asked of a daemon): the test module skips on it with one line. What only an attempt
    shows (dockerd failing to start, a base image missing) skips at the attempt."""
    if shutil.which("docker") is None:
        return "no Docker engine: the docker client is not installed (apt-get install docker.io)"
    if shutil.which("docker-compose") is None and not shutil.which("docker-compose", path=os.pathsep.join(COMPOSE_PLUGIN_DIRS)):
        return "no compose client: neither `docker compose` nor docker-compose is installed"
    if not DOCKER_SOCKET.exists():  # no engine running: the test would start one
        if shutil.which("dockerd") is None:
            return "no Docker engine: dockerd is not installed (apt-get install docker.io)"
        if os.geteuid() != 0:
            return "no Docker engine: dockerd is not running and only root can start it"
    try:
        host_python()
    except EngineUnavailable as exc:
        return str(exc)
    return None


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
            found = Engine(docker, compose, proc, log)
            try:
                found.dns = NxdomainServer()
            except OSError as exc:  # without it unknown names are only slow to fail
                print(f"note: no DNS stub on {BRIDGE_ADDRESS}:53 ({exc}); a stopped service's name takes 20 s to fail")
            return found
        time.sleep(0.2)
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


def _build(docker: str, tag: str, context: str | Path, *args: str | bytes) -> None:
    """`docker build` of a folder, or (context "-") of the tar given as the last argument."""
    stdin = args[-1] if args and isinstance(args[-1], bytes) else None
    options = [str(arg) for arg in args if not isinstance(arg, bytes)]
    cmd = [docker, "build", "-q", "--network", "host", "-t", tag, *options, str(context)]
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


# Left out of the interpreter as the official image leaves them out (tests, bytecode, the
# static library), and site-packages: the image's own packages go into its virtualenv.
_PYTHON_SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
_PYTHON_SKIP_FILES = ("*.pyc", "*.pyo", "libpython*.a")


def host_python() -> Path:
    """The prefix of the CPython 3.11 this test runs on (under its virtualenv, if any)."""
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
        raise EngineUnavailable(f"no CPython 3.11 on this machine for the image's Python (this is {sys.version.split()[0]})")
    prefix = Path(sys.base_prefix)
    if not (prefix / "bin" / "python3.11").is_file() or not (prefix / "lib" / "python3.11" / "os.py").is_file():
        raise EngineUnavailable(f"no CPython 3.11 installation under {prefix} to copy into the image")
    return prefix


def _tar_add(tar: tarfile.TarFile, path: Path, arcname: str) -> None:
    info = tar.gettarinfo(str(path), arcname=arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = int(info.mtime)
    if info.isfile():
        with path.open("rb") as handle:
            tar.addfile(info, handle)
    else:
        tar.addfile(info)


def python_context() -> bytes:
    """docker/local/python.Dockerfile, the host's CA bundle and python/: bin/python3.11,
    libpython, the standard library and the headers of the host's CPython 3.11."""
    prefix = host_python()
    buffer = io.BytesIO()
    # GNU headers: no pax record before the first file, which docker's check whether stdin
    # is an archive (it reads the first header only) would not get past.
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        _tar_add(tar, LOCAL_DIR / "python.Dockerfile", "Dockerfile")
        _tar_add(tar, ca_bundle(), "ca-bundle.crt")
        _tar_add(tar, prefix / "bin" / "python3.11", "python/bin/python3.11")
        for library in sorted((prefix / "lib").glob("libpython3*.so*")):
            _tar_add(tar, library, f"python/lib/{library.name}")
        for top in (prefix / "lib" / "python3.11", prefix / "include" / "python3.11"):
            for folder, dirs, files in os.walk(top):
                dirs[:] = sorted(d for d in dirs if d not in _PYTHON_SKIP_DIRS)
                here = Path(folder)
                _tar_add(tar, here, f"python/{here.relative_to(prefix)}")
                for name in sorted(files):
                    if not any(fnmatch.fnmatch(name, pattern) for pattern in _PYTHON_SKIP_FILES):
                        _tar_add(tar, here / name, f"python/{(here / name).relative_to(prefix)}")
        site = tarfile.TarInfo("python/lib/python3.11/site-packages")  # empty, as pip expects it
        site.type, site.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(site)
    return buffer.getvalue()


def _timed(seconds: dict[str, float], step: str, action: object, *args: object) -> None:
    started = time.monotonic()
    action(*args)  # type: ignore[operator]
    seconds[step] = round(time.monotonic() - started, 1)


BASE_LABEL = "stockgate.test.base-image"  # the Python base's image id the application was built on


def _label(docker: str, image: str, key: str) -> str | None:
    found = subprocess.run([docker, "image", "inspect", "-f", f'{{{{index .Config.Labels "{key}"}}}}', image],
                           capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def _python_chain(docker: str, tag: str, context: bytes, seconds: dict[str, float]) -> None:
    _timed(seconds, "python base", _build, docker, PYTHON_IMAGE, "-", "-f", "Dockerfile", python_context())
    base = run([docker, "image", "inspect", "-f", "{{.Id}}", PYTHON_IMAGE]).stdout.strip()
    # The tag names the application's sources, the label its base: both the same, the
    # image is this one (a cached rebuild still takes ~10 s of hashing the virtualenv).
    if _label(docker, f"stockgate:{tag}", BASE_LABEL) == base:
        seconds["application image"] = 0.0
        return
    _timed(seconds, "application image", _build, docker, f"stockgate:{tag}", "-", "-f", "docker/Dockerfile",
           "--build-arg", f"BASE_IMAGE={PYTHON_IMAGE}", "--label", f"{BASE_LABEL}={base}", context)


def _service_images(docker: str, seconds: dict[str, float]) -> None:
    for image, dockerfile in LOCAL_IMAGES.items():
        _timed(seconds, image.split("/")[1].split(":")[0], _build, docker, image, LOCAL_DIR, "-f",
               str(LOCAL_DIR / dockerfile))


def build_images(docker: str) -> tuple[str, dict[str, float]]:
    """Build every image the test stack runs; return the application's tag and the seconds
    each step took (the Python chain and the service images side by side)."""
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="stockgate-images-") as tmp:
        if not image_exists(docker, DEBIAN_IMAGE):
            _timed(seconds, "debian base", _debian_base, docker, Path(tmp))
    context = app_context()
    tag = "e2e-" + hashlib.sha256(context).hexdigest()[:12]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        chains = [pool.submit(_python_chain, docker, tag, context, seconds), pool.submit(_service_images, docker, seconds)]
        for chain in chains:
            chain.result()
    seconds["images side by side"] = round(time.monotonic() - started, 1)
    _remove_other_tags(docker, tag)
    return tag, seconds


def _remove_other_tags(docker: str, keep: str) -> None:
    """The application images of earlier sources: their own layers go, the layers they
    share with this one (the virtualenv, the base) stay. This run's image stays too: an
    unchanged source builds nothing next time."""
    tags = run([docker, "images", "stockgate", "--format", "{{.Tag}}"]).stdout.split()
    stale = [f"stockgate:{name}" for name in tags if name.startswith("e2e-") and name != keep]
    if stale:
        run([docker, "rmi", *stale], check=False)


def inspect(docker: str, *ids: str) -> list[dict[str, object]]:
    if not ids:
        return []
    data: list[dict[str, object]] = json.loads(run([docker, "inspect", *ids]).stdout)
    return data
