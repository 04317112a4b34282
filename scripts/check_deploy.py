#!/usr/bin/env python3
"""Static checks of the deployment files (run by scripts/test).

Images cannot be pulled on the development machine, so docker-compose.yml, the Dockerfile and
deploy/ are checked without running them:

- docker-compose.yml has the services postgres, redis, api, nginx, prometheus and grafana; api is
  scalable (no container_name, no published port) and has a health check on /readyz (its own or
  the image's); only nginx publishes 80 and 443, Prometheus and Grafana only on 127.0.0.1, and
  nothing else publishes a port; nginx gets its config from deploy/nginx/cabanas.conf.template
  through the image's templates directory, with every ${VAR} it uses set.
- Every CABANAS_* name set in docker-compose.yml, .env.example or the Dockerfile is one the
  service reads (app/src/config.rs), every name config.rs reads is listed in .env.example, and
  no secret in .env.example is filled in. The one exception: the CABANAS_NGINX_* variables that
  deploy/nginx/*.template use, set on the nginx service only (nginx reads them, not the
  service; a name no template uses is still an error).
- The Dockerfile builds with the lockfile in a separate stage and runs as a non-root user on
  debian:bookworm-slim.
- promtool checks deploy/prometheus/prometheus.yml and alerts.yml, runs alerts.test.yml, and
  parses every query of the Grafana dashboards; every metric those queries and the alerts use is
  named in the service's code (the running service's /metrics is checked by a test of its own).

Exits 1 with every problem found, 0 with a summary. Needs PyYAML (installed with pip when
missing) and promtool (Debian's `prometheus` package).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
CONFIG_RS = ROOT / "app/src/config.rs"
NGINX_DIR = ROOT / "deploy/nginx"
NGINX_TEMPLATE = NGINX_DIR / "cabanas.conf.template"
PROMETHEUS_DIR = ROOT / "deploy/prometheus"
GRAFANA_DIR = ROOT / "deploy/grafana"
# Where the service's code names its metrics.
CODE_DIRS = ["api/src", "app/src", "projections/src", "integrations/src", "eventstore/src"]

SERVICES = {"postgres", "redis", "api", "nginx", "prometheus", "grafana"}
# Published on the host's loopback only (reached through an SSH tunnel).
LOOPBACK_ONLY = {"prometheus", "grafana"}
# Series Prometheus makes itself, not the service.
PROMETHEUS_OWN = {"up"}
# PromQL words that are not metric names.
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan",
}
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|ACCESS")

problems: list[str] = []


def problem(message: str) -> None:
    problems.append(message)


def load_yaml():
    try:
        import yaml  # noqa: PLC0415
    except ImportError:
        print("==> installing PyYAML (for the deployment check)", file=sys.stderr)
        for extra in (["--user"], []):
            result = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", *extra, "PyYAML"],
                capture_output=True,
                text=True,
            )
            if result.returncode == 0:
                break
        else:
            sys.exit("check_deploy: could not install PyYAML (pip install PyYAML)")
        import site  # noqa: PLC0415
        import importlib  # noqa: PLC0415

        importlib.invalidate_caches()
        if site.getusersitepackages() not in sys.path:
            sys.path.append(site.getusersitepackages())
        import yaml  # noqa: PLC0415
    return yaml


# --- configuration names ----------------------------------------------------------------------


def config_names() -> set[str]:
    names = set(re.findall(r'"(CABANAS_[A-Z0-9_]+)"', CONFIG_RS.read_text()))
    if not names:
        problem(f"{CONFIG_RS.relative_to(ROOT)}: no CABANAS_* names found (did it move?)")
    return names


def env_example() -> tuple[dict[str, str], set[str]]:
    """The NAME=value lines, and every CABANAS_* name listed (commented-out lines included)."""
    values: dict[str, str] = {}
    listed: set[str] = set()
    for n, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        bare = line.strip()
        m = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", bare)
        if m and m.group(1).startswith("CABANAS_"):
            listed.add(m.group(1))
        if not bare or bare.startswith("#"):
            continue
        if not m:
            problem(f".env.example:{n}: expected NAME=value, got {line!r}")
            continue
        values[m.group(1)] = m.group(2)
    return values, listed


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {k: "" if v is None else str(v) for k, v in env.items()}
    return dict((e.split("=", 1) + [""])[:2] for e in env)


def template_variables() -> set[str]:
    """The ${NAMES} the nginx templates use (envsubst; nginx's own variables are lower case)."""
    names = set()
    for path in NGINX_DIR.glob("*.template"):
        # Comments are rendered too, but an unset name there harms nothing: skip them.
        text = re.sub(r"(^|\s)#.*$", "", path.read_text(), flags=re.M)
        names.update(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)\}?", text))
    return names


def compose_names(compose: dict, text: str) -> set[str]:
    """CABANAS_* names compose sets (environment keys) or interpolates (${NAME}) for the service;
    the nginx templates' own variables, set on the nginx service, are left out."""
    names = set(re.findall(r"\$\{(CABANAS_[A-Z0-9_]+)", text))
    nginx_only = template_variables()
    for name, service in compose.get("services", {}).items():
        keys = environment(service).keys()
        names.update(
            k for k in keys
            if k.startswith("CABANAS_") and not (name == "nginx" and k in nginx_only)
        )
    return names


def check_names(compose: dict, text: str) -> None:
    known = config_names()
    values, listed = env_example()
    dockerfile_names = set(re.findall(r"\b(CABANAS_[A-Z0-9_]+)=", DOCKERFILE.read_text()))
    for where, names in [
        ("docker-compose.yml", compose_names(compose, text)),
        (".env.example", listed),
        ("Dockerfile", dockerfile_names),
    ]:
        for name in sorted(names - known):
            problem(f"{where}: {name} is not a setting the service reads (app/src/config.rs)")
    for name in sorted(known - listed):
        problem(f".env.example: {name} (read in app/src/config.rs) is not listed")
    for name, value in values.items():
        if SECRET_NAME.search(name) and value.strip():
            problem(f".env.example: {name} must be left empty (no secret in the example)")


# --- compose ----------------------------------------------------------------------------------


def published(service: dict) -> list[tuple[str, str]]:
    """(host address, host port) of each published port; address "" means every interface."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                out.append((str(port.get("host_ip", "")), str(port["published"])))
            continue
        spec = str(port).split("/")[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 1:
            # "8080": a random host port on every interface.
            out.append(("", "random"))
        elif len(parts) == 2:
            out.append(("", parts[0]))
        else:
            out.append((parts[0].strip("[]"), parts[1]))
    return out


def healthcheck_on_readyz(compose_api: dict) -> bool:
    check = compose_api.get("healthcheck")
    if check:
        if check.get("disable"):
            return False
        test = check.get("test")
        test = " ".join(test) if isinstance(test, list) else str(test)
        return "/readyz" in test
    # The image's own, when compose builds the service from this Dockerfile.
    build = compose_api.get("build")
    context = build if isinstance(build, str) else (build or {}).get("context")
    dockerfile = "Dockerfile" if isinstance(build, str) else (build or {}).get("dockerfile", "Dockerfile")
    if context is None or (ROOT / context / dockerfile).resolve() != DOCKERFILE:
        return False
    return bool(re.search(r"^HEALTHCHECK\b.*(\\\n.*)*?/readyz", DOCKERFILE.read_text(), re.M))


def check_compose(compose: dict) -> None:
    services = compose.get("services") or {}
    missing = SERVICES - services.keys()
    if missing:
        problem(f"docker-compose.yml: services missing: {', '.join(sorted(missing))}")
    api = services.get("api", {})
    if "container_name" in api:
        problem("docker-compose.yml: api has a container_name, so `--scale api=3` cannot start three")
    if api.get("ports"):
        problem("docker-compose.yml: api publishes a port; only nginx may (and scaling would clash)")
    if not healthcheck_on_readyz(api):
        problem("docker-compose.yml: api has no health check on /readyz (neither its own nor the image's)")
    env_files = api.get("env_file") or []
    env_files = [env_files] if isinstance(env_files, (str, dict)) else env_files
    paths = [e if isinstance(e, str) else e.get("path") for e in env_files]
    if not any(p and Path(p) == Path(".env") for p in paths):
        problem("docker-compose.yml: api does not read its secrets from .env (env_file)")

    for name, service in services.items():
        ports = published(service)
        if name == "nginx":
            hosts = {p for _, p in ports}
            if not {"80", "443"} <= hosts:
                problem("docker-compose.yml: nginx must publish 80 and 443")
            if hosts - {"80", "443"}:
                problem(f"docker-compose.yml: nginx publishes more than 80 and 443: {sorted(hosts)}")
        elif name in LOOPBACK_ONLY:
            for address, port in ports:
                if address not in {"127.0.0.1", "::1", "localhost"}:
                    problem(f"docker-compose.yml: {name} publishes {port} beyond the loopback")
                if port in {"80", "443"}:
                    problem(f"docker-compose.yml: {name} publishes {port}; only nginx may")
        elif ports and name != "api":  # api's ports are reported above
            problem(f"docker-compose.yml: {name} publishes {ports}; only nginx (and {', '.join(sorted(LOOPBACK_ONLY))} on 127.0.0.1) may")

    # nginx: the repository's templates, through the official image's envsubst mechanism
    # (/etc/nginx/templates/*.template rendered into /etc/nginx/conf.d/).
    nginx = services.get("nginx", {})
    mounts = [str(v if isinstance(v, str) else f"{v.get('source')}:{v.get('target')}")
              for v in nginx.get("volumes") or []]
    templated = any(
        re.match(r"^\.?/?deploy/nginx/?:/etc/nginx/templates/?(:ro)?$", m)
        or re.match(r"^\.?/?deploy/nginx/cabanas\.conf\.template:/etc/nginx/templates/cabanas\.conf\.template(:ro)?$", m)
        for m in mounts
    )
    if not templated:
        problem("docker-compose.yml: nginx does not mount deploy/nginx/cabanas.conf.template into /etc/nginx/templates/")
    if not NGINX_TEMPLATE.exists():
        problem(f"{NGINX_TEMPLATE.relative_to(ROOT)} does not exist")
    else:
        # envsubst replaces defined variables only: one left unset stays `${NAME}` in the config.
        for var in sorted(template_variables() - environment(nginx).keys()):
            problem(f"docker-compose.yml: nginx does not set {var}, which deploy/nginx/*.template uses")

    # PostgreSQL with btree_gist: the official image ships contrib; the migrations create it.
    image = str(services.get("postgres", {}).get("image", ""))
    if not re.match(r"^(docker\.io/)?(library/)?postgres:", image):
        problem(f"docker-compose.yml: postgres image {image!r} is not the official one (btree_gist)")
    if not any("btree_gist" in p.read_text() for p in (ROOT / "migrations/postgres").glob("*.sql")):
        problem("migrations/postgres: no CREATE EXTENSION btree_gist (the compose comment says so)")

    # Prometheus finds every api instance by DNS, on the port the service listens on.
    bind = str((api.get("environment") or {}).get("CABANAS_BIND", ""))
    port = bind.rsplit(":", 1)[-1] if bind else "8080"
    yaml = load_yaml()
    prom = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    sd = [
        c
        for job in prom.get("scrape_configs", [])
        for c in job.get("dns_sd_configs", [])
        if "api" in c.get("names", [])
    ]
    if not sd:
        problem("deploy/prometheus/prometheus.yml: no dns_sd_configs for the api service")
    for c in sd:
        if str(c.get("port")) != port:
            problem(f"deploy/prometheus/prometheus.yml: api is scraped on {c.get('port')}, it listens on {port}")


def check_dockerfile() -> None:
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    if len(froms) < 2:
        problem("Dockerfile: not multi-stage (build and runtime)")
    elif not froms[-1].startswith("debian:bookworm-slim"):
        problem(f"Dockerfile: the runtime stage is {froms[-1]}, not debian:bookworm-slim")
    if not re.search(r"cargo build --release --locked -p api", text):
        problem("Dockerfile: the build is not `cargo build --release --locked -p api`")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        problem("Dockerfile: the runtime does not switch to a non-root USER")
    if "HEALTHCHECK" not in text or "/readyz" not in text:
        problem("Dockerfile: no HEALTHCHECK on /readyz")
    if "CABANAS_WHISPER_MODEL" not in text:
        problem("Dockerfile: CABANAS_WHISPER_MODEL does not name the mounted model's path")
    ignored = DOCKERIGNORE.read_text().split() if DOCKERIGNORE.exists() else []
    for needed in ("target/", "models/", ".env"):
        if needed not in ignored:
            problem(f".dockerignore: {needed} is not excluded from the build context")


# --- monitoring ---------------------------------------------------------------------------------


def promtool(*args: str, cwd: Path) -> None:
    result = subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        problem(f"promtool {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = m.group(0)
        rest = text[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in PROMQL_WORDS:
            continue  # a function or a keyword
        if re.match(r"^\d", word):
            continue
        names.add(word)
    return names


def dashboard_queries() -> list[tuple[str, str]]:
    out = []
    for path in sorted((GRAFANA_DIR / "dashboards").glob("*.json")):
        try:
            dash = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            problem(f"{path.relative_to(ROOT)}: not JSON: {err}")
            continue

        def panels(items):
            for p in items:
                yield p
                yield from panels(p.get("panels", []))

        for p in panels(dash.get("panels", [])):
            for t in p.get("targets", []):
                ds = (t.get("datasource") or p.get("datasource") or {}).get("uid")
                if ds != "prometheus":
                    problem(f"{path.name}: panel {p.get('title')!r} uses datasource {ds!r}, not the provisioned 'prometheus'")
                if t.get("expr"):
                    out.append((f"{path.name}: {p.get('title')}", t["expr"]))
    return out


def check_monitoring() -> set[str]:
    yaml = load_yaml()
    if shutil.which("promtool") is None:
        problem(
            "promtool not found: install Debian's `prometheus` package "
            "(apt-get install prometheus), which provides it"
        )
        return set()
    promtool("check", "config", "prometheus.yml", cwd=PROMETHEUS_DIR)
    promtool("check", "rules", "alerts.yml", cwd=PROMETHEUS_DIR)
    if (PROMETHEUS_DIR / "alerts.test.yml").exists():
        promtool("test", "rules", "alerts.test.yml", cwd=PROMETHEUS_DIR)

    # Grafana: the datasource's uid is the one the dashboards use.
    ds = yaml.safe_load((GRAFANA_DIR / "provisioning/datasources/prometheus.yml").read_text())
    if not any(d.get("uid") == "prometheus" for d in ds.get("datasources", [])):
        problem("deploy/grafana: no provisioned datasource with uid 'prometheus'")
    providers = yaml.safe_load((GRAFANA_DIR / "provisioning/dashboards/cabanas.yml").read_text())
    if not providers.get("providers"):
        problem("deploy/grafana: no dashboard provider")

    # Every dashboard query parses (as an alert expression, through promtool).
    queries = dashboard_queries()
    if not queries:
        problem("deploy/grafana/dashboards: no queries found")
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"alert": f"query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)
    ]}]}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "queries.yml").write_text(yaml.safe_dump(rules))
        result = subprocess.run(["promtool", "check", "rules", "queries.yml"], cwd=tmp,
                                capture_output=True, text=True)
        if result.returncode != 0:
            problem(f"a dashboard query does not parse:\n{result.stdout}{result.stderr}")

    alerts = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    exprs = [(f"alerts.yml: {r.get('alert') or r.get('record')}", str(r["expr"]))
             for g in alerts.get("groups", []) for r in g.get("rules", [])]
    used: set[str] = set()
    for where, expr in exprs + queries:
        names = metric_names(expr)
        if not names:
            problem(f"{where}: no metric found in {expr!r}")
        used |= names

    # Each is named in the service's code (histograms by their base name).
    code = "\n".join(
        p.read_text() for d in CODE_DIRS for p in (ROOT / d).rglob("*.rs")
    )
    literals = set(re.findall(r'"([a-z_:][a-z0-9_:]*)"', code))
    for name in sorted(used - PROMETHEUS_OWN):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        if name not in literals and base not in literals:
            problem(f"metric {name} is used by a dashboard or an alert but the service never names it")
    return used


def main() -> int:
    yaml = load_yaml()
    text = COMPOSE.read_text()
    compose = yaml.safe_load(text)
    check_compose(compose)
    check_names(compose, text)
    check_dockerfile()
    used = check_monitoring()
    if problems:
        print("check_deploy: problems found:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"check_deploy: docker-compose.yml, Dockerfile, .env.example and deploy/ are consistent; "
          f"{len(used)} metric names used by alerts and dashboards: {', '.join(sorted(used))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
