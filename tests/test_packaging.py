"""The project's own files agree: dependencies, CI command, README."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_TO_PYPI = {"pytorch": "torch", "ray-core": "ray"}


def _split(spec: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    assert match, spec
    return match.group(1).lower(), match.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = dict(_split(s) for s in pyproject["dependencies"])
    for extra in ("test", "cluster"):
        pypi.update(_split(s) for s in pyproject["optional-dependencies"][extra])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for item in env["dependencies"]:
        if isinstance(item, str):
            name, spec = _split(item)
            if name in ("python", "pip"):
                continue
            conda[CONDA_TO_PYPI.get(name, name)] = spec
        elif isinstance(item, dict):  # the pip list: packages installed from PyPI
            for spec in item.get("pip", []):
                if not spec.startswith("-"):  # not an option such as `--no-deps -e .`
                    name, version = _split(spec)
                    conda[name] = version
    assert conda == pypi


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    test_commands = [b.strip() for b in blocks if b.strip().startswith("pytest")]
    assert len(test_commands) == 1, "README must give exactly one test command"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_commands[0] in [line.strip() for line in ci]


def _readme_jupyter_command() -> list[str]:
    """The README's command to open the notebooks (a line of a bash block starting `jupyter`)."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    lines = [line.strip() for b in blocks for line in b.splitlines()
             if line.strip().startswith("jupyter lab")]
    assert len(lines) == 1, "README must give exactly one `jupyter lab` command"
    return lines[0].split()


def test_readme_jupyter_command_opens_the_notebooks(tmp_path: Path) -> None:
    """The README's `jupyter lab notebooks/` works in the installed environment: JupyterLab
    starts from the clone's root, lists the notebooks, serves its page, and opens a percent
    source as a notebook (jupytext's server extension, installed with the suite)."""
    import json
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    command = _readme_jupyter_command()
    assert command[:3] == ["jupyter", "lab", "notebooks/"]
    bindir = Path(sys.executable).parent
    assert (bindir / "jupyter").is_file(), "jupyter is not installed beside this Python"
    assert shutil.which("jupyter-lab", path=str(bindir)), "JupyterLab is not installed"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "advlandscape-test"
    headless = ["--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:  # CI and containers run as root; Jupyter asks for this (README says)
        headless.append("--allow-root")
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),  # a fresh user: no personal config
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "jupyter.log").open("w")
    proc = subprocess.Popen([str(bindir / command[0]), *command[1:], *headless], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> tuple[int, bytes]:
        sep = "&" if "?" in path else "?"
        with urllib.request.urlopen(f"{base}{path}{sep}token={token}", timeout=10) as resp:
            return resp.status, resp.read()

    try:
        deadline = time.monotonic() + 120
        listing = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                listing = json.loads(get("/api/contents/")[1])
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, (tmp_path / "jupyter.log").read_text()[-3000:]
        names = {item["name"] for item in listing["content"]}
        assert {"00_overview.ipynb", "03_theorem1.ipynb", "03_theorem1.py"} <= names
        status, page = get("/lab")
        assert status == 200
        assert b"<title>JupyterLab</title>" in page
        paired = json.loads(get("/api/contents/03_theorem1.py?type=notebook")[1])
        assert paired["type"] == "notebook"
        assert paired["content"]["cells"][0]["cell_type"] == "markdown"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_ci_installs_every_extra() -> None:
    """CI installs the project with all its extras, and torchattacks apart, without its
    dependencies, by the command the APGD wrapper's error gives (the APGD tests run in CI)."""
    from numerics.nets.autoattack import INSTALL

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    ci = (ROOT / ".ci" / "run").read_text()
    installed = re.search(r'pip install [^\n]*-e "\.\[([a-z,]+)\]"', ci)
    assert installed, "CI must install the project editable with its extras"
    assert set(installed.group(1).split(",")) == set(extras)
    assert f"python -m {INSTALL}" in ci.replace("--quiet ", "")
