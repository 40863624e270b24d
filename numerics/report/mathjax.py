"""MathJax 3 for the offline report, from the npm registry into a cache, once.

Math is typeset in the browser by MathJax 3 (``tex-svg-full.js``: SVG output with its fonts inside
the one script), which the build copies into the site's ``_static/mathjax/``. It comes from the npm
registry (``npm pack mathjax@3.2.2``, or the same tarball fetched over HTTPS when npm is absent;
either is checked against the registry's sha512) into ``~/.cache/advlandscape/mathjax/``;
``$ADVLANDSCAPE_MATHJAX`` names a local copy instead.
"""

from __future__ import annotations

import base64
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

MATHJAX_VERSION = "3.2.2"
MATHJAX_FILE = "tex-svg-full.js"  # every TeX extension and the SVG fonts in one script
# The npm registry's dist.integrity of mathjax@3.2.2 (checked when the tarball is fetched by HTTPS).
MATHJAX_SHA512 = (
    "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
)
MATHJAX_TARBALL = f"https://registry.npmjs.org/mathjax/-/mathjax-{MATHJAX_VERSION}.tgz"
MATHJAX_ENV = "ADVLANDSCAPE_MATHJAX"  # path to a tex-svg-full.js to use instead of the cache


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
        return path
    cache = Path(cache_dir) if cache_dir is not None else _mathjax_cache()
    target = cache / MATHJAX_FILE
    if target.is_file():
        return target
    from numerics.results import atomic_write_bytes

    with tempfile.TemporaryDirectory() as tmp:
        data = _fetch_mathjax_tarball(Path(tmp))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(f"package/es5/{MATHJAX_FILE}")
        license_member = tar.extractfile("package/LICENSE")
        if member is None or license_member is None:
            raise ConfigError(f"the MathJax tarball lacks es5/{MATHJAX_FILE}")
        atomic_write_bytes(cache / "LICENSE", license_member.read(), overwrite=True)
        atomic_write_bytes(target, member.read(), overwrite=True)
    return target
