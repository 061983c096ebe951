"""docker/: the compose file and Dockerfile hold what operations relies on.

Schema-level checks of the files, always; `config` through the compose client when one
is installed. tests/test_docker_stack.py builds and runs the stack in a real engine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
ROLES = ("web", "worker", "beat", "feed")
LONG_RUNNING = ("postgres", "redis", *ROLES, "proxy")
THIRD_PARTY = ("postgres", "redis", "proxy")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def final_stage(dockerfile: str) -> str:
    return dockerfile.split("\nFROM ")[-1]


def base_image_default(dockerfile: str) -> str:
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.M)
    assert match, "the Dockerfile takes no BASE_IMAGE build argument"
    return match.group(1)


def compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def compose_config(*files: str) -> dict[str, Any]:
    """The merged configuration as the compose client resolves it (with .env.example)."""
    client = compose_client()
    if client is None:
        pytest.skip("no compose client installed (docker compose or docker-compose); the schema-level tests cover the files")
    args = [arg for name in files for arg in ("-f", str(DOCKER / name))]
    env = {**os.environ, "STOCKGATE_ENV_FILE": ".env.example", "POSTGRES_PASSWORD": "example", "REDIS_PASSWORD": "example"}
    result = subprocess.run([*client, "-p", "stockgate", *args, "config"], capture_output=True, text=True, env=env, cwd=DOCKER)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = yaml.safe_load(result.stdout)
    return data


def test_compose_has_every_service(compose: dict[str, Any]) -> None:
    assert set(LONG_RUNNING) <= set(compose["services"])


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_service_restarts_by_itself(compose: dict[str, Any], name: str) -> None:
    assert compose["services"][name]["restart"] == "unless-stopped"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_service_has_a_healthcheck(compose: dict[str, Any], name: str) -> None:
    check = compose["services"][name]["healthcheck"]
    assert check["test"] and check["interval"] and check["retries"] >= 1


@pytest.mark.parametrize("role", ["worker", "beat", "feed"])
def test_each_role_healthcheck_tests_that_role(compose: dict[str, Any], role: str) -> None:
    test = compose["services"][role]["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "manage.py", "check_health"]
    assert test[test.index("--role") + 1] == role


def test_web_and_proxy_healthchecks_make_a_real_request_to_healthz(compose: dict[str, Any]) -> None:
    """web: a request through uvicorn and Django; proxy: the same through nginx to a replica."""
    web = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    assert "urlopen" in web and "http://127.0.0.1:8000/healthz" in web
    proxy = compose["services"]["proxy"]["healthcheck"]["test"]
    assert proxy[:2] == ["CMD", "curl"] and "-f" in proxy[2] and "http://127.0.0.1:8080/healthz" in proxy


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_service_has_resource_limits(compose: dict[str, Any], name: str) -> None:
    limits = compose["services"][name]["deploy"]["resources"]["limits"]
    assert re.fullmatch(r"\d+(\.\d+)?", str(limits["cpus"]))
    assert re.fullmatch(r"\d+[kmg]", str(limits["memory"]))


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_service_rotates_its_logs(compose: dict[str, Any], name: str) -> None:
    logging = compose["services"][name]["logging"]
    assert logging["driver"] == "json-file"
    assert logging["options"]["max-size"] and int(logging["options"]["max-file"]) >= 2


@pytest.mark.parametrize("name", THIRD_PARTY)
def test_third_party_images_are_pinned_to_a_patch_release_and_a_digest(compose: dict[str, Any], name: str) -> None:
    """A tag can be moved; a digest cannot: a pull gets exactly the reviewed bytes or fails."""
    image = compose["services"][name]["image"]
    # PostgreSQL numbers its patch releases MAJOR.MINOR (15.19); the others MAJOR.MINOR.PATCH.
    release = r"\d+\.\d+" if name == "postgres" else r"\d+\.\d+\.\d+"
    assert re.fullmatch(rf"[a-z0-9/.-]+:{release}(-[a-z0-9]+)?@sha256:[0-9a-f]{{64}}", image), image


def test_redis_requires_a_password_that_every_client_uses(compose: dict[str, Any]) -> None:
    """No anonymous client reaches the broker or the channel layer; the password is a
    required setting (no default), and web/worker/beat/feed and the healthcheck use it."""
    redis = compose["services"]["redis"]
    command = redis["command"]
    password = command[command.index("--requirepass") + 1]
    assert password.startswith("${REDIS_PASSWORD:?"), password
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")  # redis-cli ping
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    for role in (*ROLES, "migrate"):
        url = compose["services"][role]["environment"]["REDIS_URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD:?") and url.endswith("@redis:6379/0"), (role, url)
    example = (DOCKER / ".env.example").read_text()
    assert re.search(r"^REDIS_PASSWORD=", example, re.M)


def test_redis_memory_is_bounded_and_only_keys_with_a_ttl_are_evicted(compose: dict[str, Any]) -> None:
    """The Celery broker's queues carry no TTL: volatile-lru can never evict them, while
    realtime history (with TTLs) gives way under pressure. maxmemory leaves headroom under
    the container's limit so the kernel never kills Redis (and AOF never replays a set
    larger than maxmemory)."""
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "volatile-lru"
    maxmemory = command[command.index("--maxmemory") + 1]
    limit = redis["deploy"]["resources"]["limits"]["memory"]

    def megabytes(value: str) -> int:
        number, unit = re.fullmatch(r"(\d+)(mb|m|gb|g)", value.lower()).groups()  # type: ignore[union-attr]
        return int(number) * (1024 if unit.startswith("g") else 1)

    assert megabytes(maxmemory) <= megabytes(limit) * 0.6, (maxmemory, limit)
    assert command[command.index("--appendonly") + 1] == "yes"  # queued tasks survive a restart


def test_web_runs_replicas_behind_the_proxy(compose: dict[str, Any]) -> None:
    """Only the proxy publishes a port; web has N replicas and no port of its own."""
    web = compose["services"]["web"]
    assert "ports" not in web
    assert str(web["deploy"]["replicas"]).startswith("${WEB_REPLICAS:-")
    proxy = compose["services"]["proxy"]
    assert proxy["ports"] == ["${WEB_PUBLISH:-127.0.0.1:8000}:8080"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    assert proxy["read_only"] is True and proxy["user"] == "101:101"
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]


def test_the_proxy_passes_websockets_and_outlasts_the_heartbeat() -> None:
    """Upgrade headers passed on; read timeout above the server's heartbeat, so a quiet
    socket is never cut by the proxy; no sticky sessions (no ip_hash/hash/sticky)."""
    from django.conf import settings

    conf = (DOCKER / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "proxy_http_version 1.1;" in conf
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", conf).group(1))  # type: ignore[union-attr]
    assert read_timeout > 2 * settings.WS_HEARTBEAT_SECONDS
    assert not re.search(r"^\s*(ip_hash|hash|sticky)\b", conf, re.M)


def test_roles_wait_for_healthy_dependencies_and_migrations(compose: dict[str, Any]) -> None:
    for role in ROLES:
        depends = compose["services"][role]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_secrets_come_from_the_environment_not_the_compose_file(compose: dict[str, Any]) -> None:
    text = (DOCKER / "compose.yaml").read_text()
    assert "SECRET_KEY" not in text
    assert "POSTGRES_PASSWORD:?" in text and "REDIS_PASSWORD:?" in text  # required, never defaulted
    example = (DOCKER / ".env.example").read_text()
    assert re.search(r"^SECRET_KEY=", example, re.M) and re.search(r"^POSTGRES_PASSWORD=", example, re.M)


def test_roles_run_in_production_mode(compose: dict[str, Any]) -> None:
    for role in ROLES:
        assert compose["services"][role]["environment"]["STOCKGATE_ENV"] == "production"


def test_dockerfile_base_image_is_pinned() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    image = base_image_default(dockerfile)
    assert image.startswith("python:"), "the official Python image is the default base"
    assert ":latest" not in image
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", image), image
    # Every stage is built on that one argument: swapping it swaps the whole image.
    froms = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
    assert froms and all(image_ref == "${BASE_IMAGE}" for image_ref in froms), froms


def test_dockerfile_runs_as_an_unprivileged_user() -> None:
    stage = final_stage((DOCKER / "Dockerfile").read_text())
    users = re.findall(r"^USER\s+(\S+)", stage, re.M)
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_is_slim() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    stage = final_stage(dockerfile)
    assert "-slim" in base_image_default(dockerfile)
    assert "COPY --from=build /opt/venv" in stage  # build tools stay in the build stage


def test_web_runs_uvicorn_with_several_workers() -> None:
    entry = (DOCKER / "entrypoint.sh").read_text()
    assert "uvicorn stockgate.asgi:application" in entry and "--workers" in entry


def test_entrypoint_is_valid_shell() -> None:
    sh = shutil.which("sh")
    assert sh is not None
    subprocess.run([sh, "-n", str(DOCKER / "entrypoint.sh")], check=True)


def test_env_example_only_names_settings_that_exist() -> None:
    source = "\n".join(p.read_text() for p in (REPO / "stockgate").glob("*.py"))
    compose_text = (DOCKER / "compose.yaml").read_text() + (DOCKER / "entrypoint.sh").read_text()
    for line in (DOCKER / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            name = match.group(1)
            assert f'"{name}"' in source or name in compose_text, f"{name} is read by nothing"


def test_compose_config_validates_with_the_compose_client() -> None:
    services = compose_config("compose.yaml")["services"]
    assert set(LONG_RUNNING) <= set(services)


# --- the test-only override: locally built PostgreSQL and Redis, nothing else changed ---

OVERRIDE = "compose.local-images.yaml"


def test_the_override_names_images_and_nothing_else(compose: dict[str, Any]) -> None:
    override = yaml.safe_load((DOCKER / OVERRIDE).read_text())
    assert set(override) == {"services"}, "the override may only touch services"
    for name, service in override["services"].items():
        assert name in compose["services"], f"the override adds a service: {name}"
        assert set(service) == {"image"}, f"{name}: the override changes {sorted(set(service) - {'image'})}"
        assert service["image"] != compose["services"][name]["image"]


def test_with_the_override_the_merged_stack_differs_only_in_image_names() -> None:
    production = compose_config("compose.yaml")
    local = compose_config("compose.yaml", OVERRIDE)
    changed = {
        name for name in production["services"]
        if production["services"][name].get("image") != local["services"][name].get("image")
    }
    assert changed == set(yaml.safe_load((DOCKER / OVERRIDE).read_text())["services"])
    for config in (production, local):
        for service in config["services"].values():
            service.pop("image", None)
    assert local == production


def test_the_local_images_keep_the_official_images_contract() -> None:
    """What compose.yaml relies on from postgres:* and redis:*: their environment, data
    directories and CLI tools on PATH."""
    postgres = (DOCKER / "local" / "postgres.Dockerfile").read_text()
    entry = (DOCKER / "local" / "postgres-entrypoint.sh").read_text()
    assert "PGDATA=/var/lib/postgresql/data" in postgres and "/usr/lib/postgresql/15/bin" in postgres
    assert all(name in entry for name in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"))
    redis = (DOCKER / "local" / "redis.Dockerfile").read_text()
    assert "WORKDIR /data" in redis and "redis-server" in redis
    for script in ("postgres-entrypoint.sh", "redis-entrypoint.sh"):
        subprocess.run(["sh", "-n", str(DOCKER / "local" / script)], check=True)
