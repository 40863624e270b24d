"""The protocol every data study shares: units of work, their checkpoint, seeds, data, records.

A study is a pure function from a frozen config dataclass to a JSON-ready results dict. Inside, it
is a sequence of **units of work** (one training run: per eps, per learning rate and seed, per
optimiser). :class:`Units` runs them: with a checkpoint folder the finished units are saved after
each one to ``<checkpoint_dir>/<study>.ckpt``, keyed on the study and the full config (a
checkpoint of another config is ignored here; the commands refuse it, naming how the configs
differ: :func:`describe_config_change`), and a later call with the same config reuses them. A
checkpoint of this config written by other code (:func:`numerics.records.code_version`: the
sources or the library versions changed) is refused unless resuming from it is asked for.
Every unit draws its random numbers from a generator seeded from the config and the unit's name
alone (:func:`unit_seed`), so a resumed run, however often interrupted, equals an uninterrupted
one bit for bit (CPU, same threads).

Also here: the float64 MNIST / MNIST2 subsets the studies train on, and reading a study's
committed record for the ledger (:func:`load_record`, :func:`absent`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from numerics.ops import augment
from numerics.records import (
    REPO_ROOT,
    Checkpoint,
    read_checkpoint,
    read_result,
    save_checkpoint,
)
from theory.claims import Evidence
from theory.errors import ConfigError

__all__ = [
    "DTYPE",
    "RESULTS_ROOT",
    "Units",
    "absent",
    "check_int",
    "checkpoint_key",
    "checkpoint_path",
    "describe_config_change",
    "load_record",
    "matching_checkpoint",
    "mnist2_subset",
    "mnist_subset",
    "save_unit_results",
    "scale",
    "unit_results",
    "unit_seed",
    "units_scratch",
]

#: Where the committed records live: ``results/<study>/<study>.json``.
RESULTS_ROOT = REPO_ROOT / "results"
DTYPE = torch.float64


def check_int(value: int, name: str, minimum: int = 1) -> int:
    """Return ``value`` after checking it is an integer >= ``minimum`` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def mnist2_subset(n: int, seed: int, split: str = "train", bias: bool = False,
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """A random subset of n MNIST2 points (all if n >= N), float64; a constant 1 appended with
    ``bias`` (the last coordinate, as :mod:`numerics.ops` reads ``bias=True``)."""
    from numerics.data import load_mnist2, seeded_subset_indices

    x, y = load_mnist2(split)
    idx = seeded_subset_indices(x.shape[0], n, seed)
    xt = augment(torch.as_tensor(x[idx], dtype=DTYPE), bias)
    return xt, torch.as_tensor(y[idx], dtype=DTYPE)


def mnist_subset(n: int, seed: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A random subset of n MNIST images (N, 1, 28, 28) in [0, 1] (float64) with labels 0..9."""
    from numerics.data import load_mnist, seeded_subset_indices

    images, labels = load_mnist(split)
    idx = seeded_subset_indices(images.shape[0], n, seed)
    x = torch.as_tensor(images[idx].astype(np.float64) / 255.0, dtype=DTYPE).unsqueeze(1)
    return x, torch.as_tensor(labels[idx].astype(np.int64))


def unit_seed(seed: int, unit: str) -> int:
    """The seed of one unit of work: a function of the config's seed and the unit's name only
    (CRC-32 of ``"<seed>/<unit>"``), so no unit depends on which units ran before it."""
    return zlib.crc32(f"{seed}/{unit}".encode())


def checkpoint_path(study: str, checkpoint_dir: str | Path) -> Path:
    """The checkpoint file of ``study`` in ``checkpoint_dir``: ``<checkpoint_dir>/<study>.ckpt``."""
    return Path(checkpoint_dir) / f"{study}.ckpt"


def units_scratch(study: str, checkpoint_dir: str | Path) -> Path:
    """The folder of ``study``'s units' own inner checkpoints (a network's epochs) in
    ``checkpoint_dir``: ``<checkpoint_dir>/<study>.inner``."""
    return Path(checkpoint_dir) / f"{study}.inner"


def checkpoint_key(study: str, cfg: Any) -> str:
    """What a study's checkpoint is keyed on: the study and the full config,
    ``"<study>:<repr(cfg)>"``."""
    return f"{study}:{cfg!r}"


_key = checkpoint_key


def _split_fields(text: str) -> dict[str, str] | None:
    """``"Name(a=1, b=Sub(c=2), d=(3, 4))"`` -> ``{"a": "1", "b": "Sub(c=2)", "d": "(3, 4)"}``:
    a dataclass's repr split at its top-level commas (None when ``text`` is not one)."""
    head, paren, body = text.partition("(")
    if not paren or not head.isidentifier() or not body.endswith(")"):
        return None
    fields: dict[str, str] = {}
    depth, quote, start, body = 0, "", 0, body[:-1]
    for i, char in enumerate(body + ","):
        if quote:
            quote = "" if char == quote and body[i - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            name, equals, value = body[start:i].strip().partition("=")
            if name:
                if not equals:
                    return None
                fields[name] = value
            start = i + 1
    return fields


def _changes(old: str, new: str, prefix: str = "") -> list[str]:
    """``"field: old -> new"`` for every field in which two config reprs differ (nested
    dataclasses field by field)."""
    a, b = _split_fields(old), _split_fields(new)
    if a is None or b is None:
        return [f"{prefix.rstrip('.') or 'config'}: {_short(old)} -> {_short(new)}"]
    out = []
    for name in list(a) + [n for n in b if n not in a]:
        x, y = a.get(name, "(absent)"), b.get(name, "(absent)")
        if x == y:
            continue
        if _split_fields(x) is not None and _split_fields(y) is not None:
            out.extend(_changes(x, y, f"{prefix}{name}."))
        else:
            out.append(f"{prefix}{name}: {_short(x)} -> {_short(y)}")
    return out


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe_config_change(old_key: Any, new_key: str) -> str:
    """How the config of the checkpoint key ``old_key`` differs from that of ``new_key``
    (:func:`checkpoint_key`), in words: ``"n_train: 400 -> 1000; train.epochs: 2 -> 3"``."""
    if not isinstance(old_key, str):
        return "the checkpoint names no config"
    old_study, _, old = old_key.partition(":")
    new_study, _, new = new_key.partition(":")
    if old_study != new_study:
        return f"written for study {old_study!r}"
    changes = _changes(old, new)
    shown = "; ".join(changes[:6]) + (f"; and {len(changes) - 6} more" if len(changes) > 6
                                       else "")
    return f"its config differs: {shown}" if changes else "its config differs"


def matching_checkpoint(study: str, cfg: Any, checkpoint_dir: str | Path | None
                        ) -> Checkpoint | None:
    """The checkpoint of ``study`` in ``checkpoint_dir`` if it was written for ``cfg`` (None when
    there is none, or when it is another config's and will be ignored). Never refuses a stale
    one: the caller decides (:meth:`numerics.records.Checkpoint.require_current`)."""
    if checkpoint_dir is None:
        return None
    checkpoint = read_checkpoint(checkpoint_path(study, checkpoint_dir))
    if checkpoint is None or checkpoint.state.get("key") != _key(study, cfg):
        return None
    return checkpoint


def unit_results(study: str, cfg: Any, checkpoint_dir: str | Path,
                 accept_stale: bool = False) -> dict[str, Any]:
    """The finished units ``{name: result}`` of ``study`` at ``cfg`` in ``checkpoint_dir`` (empty
    when there is no checkpoint of this config); a stale one is refused unless ``accept_stale``."""
    checkpoint = matching_checkpoint(study, cfg, checkpoint_dir)
    if checkpoint is None:
        return {}
    checkpoint.require_current(accept_stale)
    return dict(checkpoint.state["units"])


def save_unit_results(study: str, cfg: Any, checkpoint_dir: str | Path,
                      results: dict[str, Any]) -> Path:
    """Write ``results`` (``{name: result}``) as the checkpoint of ``study`` at ``cfg`` in
    ``checkpoint_dir``, as :class:`Units` would have after computing them: a later run of the
    study at ``cfg`` reuses them (how a sweep merges units computed elsewhere)."""
    path = checkpoint_path(study, checkpoint_dir)
    return save_checkpoint(path, {"key": _key(study, cfg), "units": dict(results)})




class Units:
    """Runs the units of one study, reusing and saving finished ones through a checkpoint.

    The checkpoint ``{"key": "<study>:<repr(cfg)>", "units": {name: result}}`` is rewritten
    atomically after every unit (:func:`numerics.records.save_checkpoint`); a checkpoint whose key
    differs (another config) is ignored and replaced; one of this config written by other code is
    refused (:class:`theory.errors.StaleCheckpointError`) unless ``accept_stale``. Unit results
    are what a checkpoint holds (tensors, plain scalars, dicts, lists, tuples). ``stop_after``
    (tests of resumption) raises KeyboardInterrupt, as an interruption would, before the unit
    after the first ``stop_after`` units computed by this call.
    """

    def __init__(self, study: str, cfg: Any, total: int, *,
                 checkpoint_dir: str | Path | None = None, stop_after: int | None = None,
                 progress: Any = False, accept_stale: bool = False) -> None:
        if stop_after is not None:
            check_int(stop_after, "stop_after", 0)
        self.key = _key(study, cfg)
        self.path = None if checkpoint_dir is None else checkpoint_path(study, checkpoint_dir)
        #: a folder for the units' own inner checkpoints (a network's epochs), beside the
        #: checkpoint; None without one. Whoever removes the checkpoint removes it too.
        self.scratch = None if checkpoint_dir is None else units_scratch(study, checkpoint_dir)
        self.accept_stale = accept_stale
        self.done: dict[str, Any] = {}
        self.stale = ""  # what changed since reused units were computed, carried by every save
        checkpoint = matching_checkpoint(study, cfg, checkpoint_dir)
        if checkpoint is not None:
            checkpoint.require_current(accept_stale)
            self.done = dict(checkpoint.state["units"])
            self.stale = checkpoint.history
        self.stop_after = stop_after
        self.computed = 0
        self.own_bar = isinstance(progress, bool)
        if self.own_bar:
            # shown after a second: an error before the first unit (data missing) is the
            # command's first line of output, not a bar at 0%
            self.bar = tqdm(total=total, initial=len(self.done), desc=study,
                            disable=not progress, leave=False, delay=1.0)
        else:  # an outer bar over several studies (reproduce): reused units count as done
            self.bar = progress
            self.bar.update(min(len(self.done), total))

    def __call__(self, name: str, compute: Callable[[], Any]) -> Any:
        """The result of unit ``name``: from the checkpoint, else ``compute()`` (then saved)."""
        if name in self.done:
            return self.done[name]
        if self.stop_after is not None and self.computed >= self.stop_after:
            self.close()
            raise KeyboardInterrupt(f"stopped after {self.computed} units (stop_after)")
        value = compute()
        self.done[name] = value
        self.computed += 1
        if self.path is not None:
            save_checkpoint(self.path, {"key": self.key, "units": self.done}, stale=self.stale)
        self.bar.update()
        return value

    def close(self) -> None:
        """Close the progress bar (not an outer one, which its owner closes)."""
        if self.own_bar:
            self.bar.close()


def load_record(study: str, results_dir: Path | None) -> dict[str, Any] | None:
    """The committed record ``results/<study>/<study>.json`` (or ``<results_dir>/<study>.json``),
    or None when it is absent."""
    path = (results_dir or RESULTS_ROOT / study) / f"{study}.json"
    if not path.exists():
        return None
    return read_result(path)


def absent(study: str, claim: str) -> Evidence:
    """Data evidence that could not run: the study's record is absent (says how to make it)."""
    return Evidence("data", False,
                    f"{claim}: no results/{study}/{study}.json; run `advlandscape study "
                    f"{study}`", ran=False)


def scale(record: dict[str, Any]) -> str:
    """The scale a record was run at, for the ledger (``profile <name>``)."""
    return f"profile {record['config'].get('profile', '?')}"
