"""MathJax 3 for the offline report, from the npm registry into a cache, once.

Math is typeset in the browser by MathJax 3 (``tex-svg-full.js``: SVG output with its fonts inside
the one script), which the build copies into the site's ``_static/mathjax/``. It comes from the npm
registry (``npm pack mathjax@3.2.2``, or the same tarball fetched over HTTPS when npm is absent;
either is checked against the registry's sha512) into ``~/.cache/advlandscape/mathjax/``;
``$ADVLANDSCAPE_MATHJAX`` names a local copy instead.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from theory.errors import ConfigError

__all__ = [
    "MATHJAX_ENV",
    "MATHJAX_FILE",
    "MATHJAX_FILE_SHA256",
    "MATHJAX_SHA512",
    "MATHJAX_TARBALL",
    "MATHJAX_VERSION",
    "check_mathjax_script",
    "ensure_mathjax",
]

MATHJAX_VERSION = "3.2.2"
MATHJAX_FILE = "tex-svg-full.js"  # every TeX extension and the SVG fonts in one script
# The npm registry's dist.integrity of mathjax@3.2.2 (checked when the tarball is fetched by HTTPS).
MATHJAX_SHA512 = (
    "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
)
MATHJAX_TARBALL = f"https://registry.npmjs.org/mathjax/-/mathjax-{MATHJAX_VERSION}.tgz"
MATHJAX_ENV = "ADVLANDSCAPE_MATHJAX"  # path to a tex-svg-full.js to use instead of the cache
#: sha256 of ``es5/tex-svg-full.js`` in the registry's mathjax@3.2.2 tarball (whose sha512 is
#: :data:`MATHJAX_SHA512`): the cached copy must have it.
MATHJAX_FILE_SHA256 = "a4354ff94fd868aea0cc6eaaa79a57fda0588646fc46ee3700a349ee0a11cbe6"
_MATHJAX_MAX_BYTES = 16 << 20  # tex-svg-full.js is 2.2 MB


def _mathjax_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "advlandscape" / "mathjax" / MATHJAX_VERSION


def _fetch_mathjax_tarball(workdir: Path) -> bytes:
    data = b""
    npm = shutil.which("npm")
    if npm:
        done = subprocess.run(
            [npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=workdir,
            capture_output=True, text=True, timeout=300,
        )
        tarballs = list(workdir.glob("mathjax-*.tgz"))
        if done.returncode == 0 and tarballs:
            data = tarballs[0].read_bytes()
    if not data:
        try:
            with urllib.request.urlopen(MATHJAX_TARBALL, timeout=120) as response:
                data = response.read()
        except OSError as exc:
            raise ConfigError(
                f"cannot fetch MathJax {MATHJAX_VERSION} ({exc}): install npm (Debian: apt-get "
                f"install npm) with access to registry.npmjs.org, or set {MATHJAX_ENV} to a "
                f"{MATHJAX_FILE} you have"
            ) from None
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != MATHJAX_SHA512:
        raise ConfigError(f"the MathJax tarball fetched does not match the registry's sha512; "
                          f"delete {_mathjax_cache()} and retry, or set {MATHJAX_ENV}")
    return data


def ensure_mathjax(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of MathJax's ``tex-svg-full.js``, fetched once from the npm registry into a cache.

    Order: ``$ADVLANDSCAPE_MATHJAX`` (a file), else the cache (``~/.cache/advlandscape/mathjax/
    3.2.2/``), else ``npm pack mathjax@3.2.2`` (or the registry tarball by HTTPS when npm is
    absent), checked against the registry's sha512, into the cache.

    Raises:
        ConfigError: when it can be neither found nor fetched; the message says what to install.
    """
    explicit = os.environ.get(MATHJAX_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{MATHJAX_ENV}={explicit} is not a file: point it to MathJax 3's "
                              f"es5/{MATHJAX_FILE}, or unset it to fetch MathJax from npm")
        check_mathjax_script(path, f"{MATHJAX_ENV}={explicit}")
        return path
    cache = Path(cache_dir) if cache_dir is not None else _mathjax_cache()
    target = cache / MATHJAX_FILE
    if target.is_file():
        if _sha256(target) != MATHJAX_FILE_SHA256:
            raise ConfigError(f"{target} is not MathJax {MATHJAX_VERSION}'s {MATHJAX_FILE} (its "
                              f"sha256 differs: damaged or replaced): delete {cache} to fetch it "
                              "again")
        return target
    try:
        return _fetch_into(cache, target)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise ConfigError(
            f"cannot write MathJax's cache {cache} ({os.strerror(exc.errno)}; the cache is "
            f"under $XDG_CACHE_HOME, else ~/.cache, not under --out): free space there, or set "
            f"XDG_CACHE_HOME to a folder with 3 MB free, or {MATHJAX_ENV} to a {MATHJAX_FILE} "
            "you have") from None


def _fetch_into(cache: Path, target: Path) -> Path:
    from numerics.records import atomic_write_bytes

    with tempfile.TemporaryDirectory() as tmp:
        data = _fetch_mathjax_tarball(Path(tmp))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(f"package/es5/{MATHJAX_FILE}")
        license_member = tar.extractfile("package/LICENSE")
        if member is None or license_member is None:
            raise ConfigError(f"the MathJax tarball lacks es5/{MATHJAX_FILE}")
        script = member.read()
        if hashlib.sha256(script).hexdigest() != MATHJAX_FILE_SHA256:
            raise ConfigError(f"es5/{MATHJAX_FILE} of the fetched tarball is not the registry's "
                              f"(sha256 differs); set {MATHJAX_ENV} to a copy you have")
        atomic_write_bytes(cache / "LICENSE", license_member.read(), overwrite=True)
        atomic_write_bytes(target, script, overwrite=True)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_mathjax_script(path: str | os.PathLike[str], name: str) -> None:
    """Refuse a file that is not a MathJax 3 script (``name`` says where it was named).

    MathJax 3.2.2's ``tex-svg-full.js`` (its sha256, :data:`MATHJAX_FILE_SHA256`) passes; so does
    another MathJax 3 build: a JavaScript file under 16 MiB that names MathJax and sets
    ``VERSION="3.``. Anything else (a text file, a page, another library) would be copied into
    every site as its math renderer.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > _MATHJAX_MAX_BYTES:
        raise ConfigError(f"{name} is {size} bytes, not MathJax 3's {MATHJAX_FILE} (2.2 MB): "
                          f"point it to es5/{MATHJAX_FILE} of MathJax 3")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() == MATHJAX_FILE_SHA256:
        return
    if b"MathJax" not in data or b'VERSION="3.' not in data:
        raise ConfigError(f"{name} is not MathJax 3's {MATHJAX_FILE} (no MathJax 3 version in "
                          f"it): point it to es5/{MATHJAX_FILE} of MathJax 3 (npm pack "
                          f"mathjax@{MATHJAX_VERSION}), or unset it to fetch MathJax from npm")
