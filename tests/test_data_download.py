"""Tests of numerics.data.fetch (download) against a local HTTP server on 127.0.0.1 (no internet).

The server serves small payloads under URL prefixes that select a behaviour: ``ok`` (honours
Range), ``flaky`` (the first response of each file stops half-way), ``norange`` (ignores Range;
first response stops half-way), ``cut`` (always stops half-way), ``short`` (a complete response
of a truncated file), ``corrupt`` (right length, one byte flipped), ``missing`` (404).
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from numerics.cli import main
from numerics.data import fetch
from numerics.data.fetch import download
from numerics.data.registry import DATASETS, FileSpec
from theory.errors import DataError

PAYLOADS = {
    "a.bin": bytes(range(256)) * 1200,  # 307200 bytes: several read chunks are not needed
    "b.bin": b"advlandscape" * 1000,
}


class Handler(BaseHTTPRequestHandler):
    """Serves PAYLOADS; the first path component selects the behaviour."""

    log: ClassVar[list[tuple[str, str | None]]] = []
    served: ClassVar[dict[str, int]] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        mode, _, name = self.path.strip("/").partition("/")
        rng = self.headers.get("Range")
        Handler.log.append((self.path, rng))
        count = Handler.served.get(self.path, 0)
        Handler.served[self.path] = count + 1
        if mode == "missing" or name not in PAYLOADS:
            self.send_error(404)
            return
        data = PAYLOADS[name]
        if mode == "corrupt":
            data = data[:10] + bytes([data[10] ^ 0xFF]) + data[11:]
        if mode == "short":
            data = data[: len(data) - 100]
        start = 0
        if rng and mode in ("ok", "flaky", "cut"):
            start = int(rng.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        stop_half_way = mode == "cut" or (mode in ("flaky", "norange") and count == 0)
        self.wfile.write(body[: len(body) // 2] if stop_half_way else body)


@pytest.fixture
def server() -> Iterator[str]:
    """A local HTTP server in a thread; yields its base URL."""
    Handler.log = []
    Handler.served = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused: behaves like offline)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def spec_for(name: str, base: str, mode: str = "ok") -> FileSpec:
    """The registry entry of a payload, served from ``base/mode/name``."""
    data = PAYLOADS[name]
    return FileSpec(name, len(data), hashlib.md5(data).hexdigest(),
                    hashlib.sha256(data).hexdigest(), urls=(f"{base}/{mode}/{name}",))


def install(monkeypatch: pytest.MonkeyPatch, *files: FileSpec) -> None:
    """Point the registry's "mnist" entry at the local files (the URL table is monkeypatched)."""
    monkeypatch.setitem(DATASETS, "mnist", replace(DATASETS["mnist"], files=files))


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backoff delays instead of sleeping."""
    delays: list[float] = []
    monkeypatch.setattr(fetch.time, "sleep", delays.append)
    return delays


def test_download_success_verifies_and_renames(server: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, spec_for("a.bin", server), spec_for("b.bin", server))
    fetched = download("mnist", tmp_path, progress=False)
    folder = tmp_path / "mnist"
    assert fetched == [folder / "a.bin", folder / "b.bin"]
    assert (folder / "a.bin").read_bytes() == PAYLOADS["a.bin"]
    assert sorted(p.name for p in folder.iterdir()) == ["a.bin", "b.bin"]  # no .part left
    n_requests = len(Handler.log)
    assert download("mnist", tmp_path, progress=False) == []  # present and verified
    assert len(Handler.log) == n_requests


def test_download_resumes_with_range(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     no_sleep: list[float]) -> None:
    install(monkeypatch, spec_for("a.bin", server, mode="flaky"))
    download("mnist", tmp_path, progress=False, backoff=0.5)
    assert (tmp_path / "mnist" / "a.bin").read_bytes() == PAYLOADS["a.bin"]
    (first, r1), (second, r2) = Handler.log
    assert first == second == "/flaky/a.bin"
    assert r1 is None
    assert r2 is not None
    resumed_at = int(r2.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(PAYLOADS["a.bin"]) // 2
    assert no_sleep == [0.5]


def test_download_restarts_when_range_is_ignored(server: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, spec_for("a.bin", server, mode="norange"))
    download("mnist", tmp_path, progress=False)
    assert (tmp_path / "mnist" / "a.bin").read_bytes() == PAYLOADS["a.bin"]
    assert len(Handler.log) == 2
    assert Handler.log[1][1] is not None  # asked for a range, got the whole file


def test_download_gives_up_after_retries_with_backoff(
        server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        no_sleep: list[float]) -> None:
    install(monkeypatch, spec_for("a.bin", server, mode="cut"))
    with pytest.raises(DataError, match=r"could not download a\.bin") as err:
        download("mnist", tmp_path, progress=False, retries=3, backoff=1.0)
    assert no_sleep == [1.0, 2.0]
    assert len(Handler.log) == 3
    assert not (tmp_path / "mnist" / "a.bin").exists()
    assert "run the same command again to resume" in str(err.value)


def test_truncated_result_is_deleted_and_reported(server: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, spec_for("a.bin", server, mode="short"))
    with pytest.raises(DataError, match="truncated") as err:
        download("mnist", tmp_path, progress=False)
    assert "downloaded file deleted" in str(err.value)
    assert list((tmp_path / "mnist").iterdir()) == []


def test_checksum_failure_deletes_and_falls_back_to_next_mirror(
        server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad_only = spec_for("a.bin", server, mode="corrupt")
    install(monkeypatch, bad_only)
    with pytest.raises(DataError, match="fails its md5 check"):
        download("mnist", tmp_path, progress=False)
    assert list((tmp_path / "mnist").iterdir()) == []
    two_mirrors = replace(bad_only, urls=(*bad_only.urls, f"{server}/ok/a.bin"))
    install(monkeypatch, two_mirrors)
    download("mnist", tmp_path, progress=False)
    assert (tmp_path / "mnist" / "a.bin").read_bytes() == PAYLOADS["a.bin"]


def test_missing_on_server_is_not_retried(server: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, spec_for("a.bin", server, mode="missing"))
    with pytest.raises(DataError, match="404"):
        download("mnist", tmp_path, progress=False, retries=3)
    assert len(Handler.log) == 1


def test_offline_error_names_files_checksums_and_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_for("a.bin", closed_port_url())
    install(monkeypatch, spec)
    with pytest.raises(DataError) as err:
        download("mnist", tmp_path, progress=False, retries=2, timeout=5)
    message = str(err.value)
    assert "offline" in message
    assert spec.md5 in message
    assert spec.sha256 in message
    assert str(tmp_path / "mnist") in message
    assert "ADVLANDSCAPE_DATA" in message


def test_present_corrupt_file_is_reported_not_overwritten(
        server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, spec_for("a.bin", server))
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "a.bin").write_bytes(b"x" * len(PAYLOADS["a.bin"]))
    with pytest.raises(DataError, match="delete"):
        download("mnist", tmp_path, progress=False)
    assert Handler.log == []


def test_not_downloadable_layout(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot be downloaded"):
        download("cifar10-npz", tmp_path)
    with pytest.raises(DataError, match="unknown data set"):
        download("imagenet", tmp_path)


def test_cli_download_prints_clean_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], server: str) -> None:
    install(monkeypatch, spec_for("b.bin", server))
    assert main(["data", "--download", "mnist", "--data-dir", str(tmp_path)]) == 0
    assert "fetched and verified 1 file(s)" in capsys.readouterr().out
    install(monkeypatch, spec_for("a.bin", server, mode="missing"))
    assert main(["data", "--download", "mnist", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("advlandscape data: error: could not download a.bin")
    assert "Traceback" not in err

