"""Data on first use: loaders download a missing data set (from a local mirror here), or, offline,
say what to copy where; a failed download leaves nothing a later run could take for data.

The mirror is a local HTTP server on 127.0.0.1 serving the four official MNIST files under their
official names (copied from the data root), reached through ``$ADVLANDSCAPE_DATA_MIRROR``; no
test here touches the internet. The first-use runs are fresh subprocesses with an empty data
root, as on a fresh machine.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from numerics.cli import main
from numerics.data import fetch, load_mnist, verify_file
from numerics.data.registry import DATASETS
from theory.errors import DataError

REPO = Path(__file__).resolve().parents[1]
MNIST_NAMES = tuple(s.name for s in DATASETS["mnist"].files)


class MirrorHandler(SimpleHTTPRequestHandler):
    """Serves a folder; records the paths asked for; ``/cut/<name>`` stops half-way."""

    requests: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        MirrorHandler.requests.append(self.path)
        if self.path.startswith("/cut/"):
            data = (Path(self.directory) / self.path.removeprefix("/cut/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            return
        super().do_GET()


@pytest.fixture
def mirror(tmp_path: Path, data_root: Path) -> Iterator[str]:
    """A local server of the official MNIST files (official names); yields its base URL."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name in MNIST_NAMES:
        shutil.copyfile(data_root / "mnist" / name, folder / name)
    MirrorHandler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(MirrorHandler, directory=str(folder)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def fresh_env(root: Path, mirror: str | None, offline: str = "0") -> dict[str, str]:
    """This process's environment for a fresh machine: data root ``root``, the mirror, tqdm and
    the derived cache out of the way."""
    env = {**os.environ, "ADVLANDSCAPE_DATA": str(root), "ADVLANDSCAPE_OFFLINE": offline,
           "PYTHONPATH": str(REPO), "ADVLANDSCAPE_CACHE": str(root.parent / "derived")}
    env.pop("ADVLANDSCAPE_DATA_MIRROR", None)
    if mirror:
        env["ADVLANDSCAPE_DATA_MIRROR"] = mirror
    return env


LOAD_MNIST2 = ("from numerics.data import load_mnist2\n"
               "x, y = load_mnist2('train')\n"
               "print('loaded', x.shape, y.shape, sorted(set(y.tolist())))\n")


def test_load_mnist2_downloads_on_first_use(tmp_path: Path, mirror: str) -> None:
    """An empty data root (not even created), the mirror set: ``load_mnist2("train")`` in a fresh
    process downloads the split's two official files, verifies them, says where they went and
    loads; the second run downloads nothing."""
    root = tmp_path / "fresh" / "data"
    run = subprocess.run([sys.executable, "-c", LOAD_MNIST2], env=fresh_env(root, mirror),
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "loaded (12665, 784) (12665,) [-1.0, 1.0]" in run.stdout
    folder = root / "mnist"
    assert f"missing in {folder}: downloading them from $ADVLANDSCAPE_DATA_MIRROR" in run.stderr
    assert f"downloaded and verified train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz " \
           f"into {folder}" in run.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["train-images-idx3-ubyte.gz",
                                                         "train-labels-idx1-ubyte.gz"]
    for path in folder.iterdir():
        verify_file(path)  # the registered size, md5 and sha256
    assert sorted(MirrorHandler.requests) == ["/train-images-idx3-ubyte.gz",
                                              "/train-labels-idx1-ubyte.gz"]
    again = subprocess.run([sys.executable, "-c", LOAD_MNIST2], env=fresh_env(root, mirror),
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "download" not in again.stderr
    assert len(MirrorHandler.requests) == 2


def test_offline_names_what_to_copy_where(tmp_path: Path) -> None:
    """ADVLANDSCAPE_OFFLINE=1 and an empty data root: the error names the folder and the files
    (with their checksums), nothing is created, and ``data --check --offline`` says the same."""
    root = tmp_path / "data"
    run = subprocess.run([sys.executable, "-c", LOAD_MNIST2],
                         env=fresh_env(root, "http://127.0.0.1:9/", offline="1"),
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode != 0
    err = run.stderr
    assert "DataError" in err
    assert "ADVLANDSCAPE_OFFLINE is set, so they are not downloaded" in err
    assert (f"copy train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz into {root / 'mnist'}/"
            in err)
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in err
    assert not root.exists()


def test_data_command_offline_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``advlandscape data --offline``: with --check it lists what to copy where; with
    --download it is a contradiction (exit 2)."""
    monkeypatch.setenv("ADVLANDSCAPE_OFFLINE", "0")
    assert main(["data", "--check", "--no-checksum", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "downloads on first use: on" in out
    assert "mnist       MISSING: downloaded on first use" in out
    assert main(["data", "--check", "--offline", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "downloads on first use: off" in out
    assert f"copy {' '.join(MNIST_NAMES)} into {tmp_path / 'mnist'}/" in out
    monkeypatch.setenv("ADVLANDSCAPE_OFFLINE", "0")  # --offline set it for the process
    assert main(["data", "--download", "mnist", "--offline", "--data-dir", str(tmp_path)]) == 2
    assert "contradict" in capsys.readouterr().err
    monkeypatch.setenv("ADVLANDSCAPE_OFFLINE", "maybe")
    with pytest.raises(DataError, match="ADVLANDSCAPE_OFFLINE is 'maybe'"):
        load_mnist("test", tmp_path)


def test_failed_download_leaves_only_a_part_file_then_resumes(
        tmp_path: Path, mirror: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mirror that always stops half-way: the load fails with one DataError, the official name
    never appears (only ``.<name>.part``, which no loader reads), and the next load, from a
    good mirror, finishes the file and loads."""
    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)
    monkeypatch.setenv("ADVLANDSCAPE_OFFLINE", "0")
    monkeypatch.setenv("ADVLANDSCAPE_DATA_MIRROR", mirror + "cut/")
    root = tmp_path / "data"
    with pytest.raises(DataError, match=r"could not download t10k-images-idx3-ubyte\.gz") as err:
        load_mnist("test", root)
    assert "run the same command again to resume" in str(err.value)
    assert sorted(p.name for p in (root / "mnist").iterdir()) == [
        ".t10k-images-idx3-ubyte.gz.part"]
    with pytest.raises(DataError, match="could not download"):  # still nothing taken for data
        load_mnist("test", root)
    monkeypatch.setenv("ADVLANDSCAPE_DATA_MIRROR", mirror)
    images, labels = load_mnist("test", root)
    assert images.shape == (10000, 28, 28)
    assert labels.shape == (10000,)
    assert sorted(p.name for p in (root / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.mark.slow
def test_quick_start_report_on_a_fresh_machine(tmp_path: Path, mirror: str) -> None:
    """The README's quick start at its smallest: ``advlandscape report`` on one notebook that
    needs MNIST (08_resnet18 trains on it), the data root empty, the mirror set: the notebook
    passes, the data arrive, and the download notice is no stderr output on the page. Without
    the ledger (``--no-ledger``: its symbolic proofs take half a minute and need no data; the
    report's ledger is tested in test_report.py and test_claims.py).

    Slow (about 30 s on an idle 2-core machine): a notebook kernel and a ResNet run."""
    root = tmp_path / "data"
    site = tmp_path / "site"
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "numerics.cli", "report", "--notebooks", "08_resnet18",
         "--no-ledger", "--out", str(site)],
        env=fresh_env(root, mirror), capture_output=True, text=True, timeout=900, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1/1 notebooks passed" in run.stdout
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(MNIST_NAMES)
    page = (site / "08_resnet18.html").read_text()
    assert "downloaded and verified" in page  # on the page as plain output, not stderr
    print(f"report on a fresh data root: {time.monotonic() - start:.0f} s")
