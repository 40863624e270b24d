"""The experiments a sweep can run, each split into units: grid keys, unit configs, run, merge.

A **unit** is the experiment at a config restricted to one value of every grid key: a frozen,
validated config dataclass, named by its grid values and keyed by the digest of its config. Its
result is what the experiment's own code computes from that config alone (seeds included), so it
is the same on any worker. Experiments:

* ``sensitivity``: Yamada et al.'s MNIST2 tables under the hyperparameter settings their text
  lost (:mod:`numerics.experiments.sensitivity`); grid keys ``setting``, ``table``, ``seed``.
* ``pas``: Liu et al.'s periodic adversarial scheduling against a fixed budget
  (:mod:`numerics.experiments.pas`); grid keys ``lr``, ``seed``.
* ``resnet``: the ResNet18 sweep (:mod:`numerics.experiments.resnet`); grid keys ``eps``,
  ``seed`` (the training seed), ``dataset``.

The first two are studies of :mod:`numerics.experiments.registry` (the study protocol, units
through :class:`numerics.experiments.units.Units`): a unit runs the study at its restricted
config (its inner runs checkpointed in the unit's folder, so a retried unit resumes), and the
merge runs the study at the whole grid's config with every inner run taken from the unit
records: the merged record is the study's own record of the whole grid.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from numerics.sweep.spec import SweepSpec
from theory.errors import ConfigError
from theory.validate import check_eps

__all__ = ["EXPERIMENTS", "POSITIVE_COUNTS", "Experiment", "ResNetSweep", "StudySweep", "Unit",
           "check_field", "experiment_for"]


@dataclass(frozen=True)
class Unit:
    """One unit of work: the experiment, its grid values and its validated config."""

    experiment: str
    values: tuple[tuple[str, Any], ...]
    config: Any

    @property
    def name(self) -> str:
        """``key=value,...`` in the grid's order."""
        return ",".join(f"{k}={v}" for k, v in self.values)

    @property
    def digest(self) -> str:
        """The key of the unit's record: SHA-256 (16 hex digits) of the experiment and the
        ``repr`` of its config, which holds everything the result depends on."""
        return hashlib.sha256(f"{self.experiment}:{self.config!r}".encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """YAML lists as tuples (the configs' sequence fields are tuples), recursively."""
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


#: Count fields that must be >= 1 wherever they appear (a batch of 0 samples, 0 PGD steps or
#: epochs, a layer of width 0 are meaningless and some divide by them).
POSITIVE_COUNTS = frozenset({"batch_size", "pgd_steps", "train_steps", "eval_steps", "epochs",
                             "periods", "hidden", "width"})
_SEEDS = frozenset({"seed", "seeds"})


def check_field(value: Any, hint: Any, name: str, where: str) -> Any:
    """Check a config value from a sweep file against its field's type; return it normalised.

    ``int`` fields take integers (``>= 1`` for :data:`POSITIVE_COUNTS`, ``0..2**32-1`` for
    seeds), ``float`` fields finite numbers (an integer becomes a float, so ``1`` and ``1.0``
    are one unit), ``str`` fields strings (a ``device`` one that exists here), ``bool`` fields
    booleans, ``tuple[X, ...]`` lists of X, unions any of theirs; other types are left to the
    config's own validation.
    """
    import math
    import types
    import typing

    from numerics.validate import check_count, check_device, check_seed

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        problems = []
        for option in args:
            try:
                return check_field(value, option, name, where)
            except ConfigError as exc:
                problems.append(exc)
        raise problems[-1] if value is not None and type(None) in args else problems[0]
    if hint is type(None):
        if value is not None:
            raise ConfigError(f"{where}: {name} must be null, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, tuple):
            raise ConfigError(f"{where}: {name} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(check_field(v, args[0], name, where) for v in value)
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} must be true or false, got {value!r}")
        return value
    if hint is int:
        try:
            if name in _SEEDS:
                return check_seed(value, name)
            return check_count(value, name, 1 if name in POSITIVE_COUNTS else 0)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise ConfigError(f"{where}: {name} must be a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {name} must be a string, got {value!r}")
        if name == "device":
            try:
                check_device(value)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        return value
    return value


def _replace(cfg: Any, changes: dict[str, Any], where: str) -> Any:
    """``dataclasses.replace`` with unknown fields and invalid values as one ConfigError (each
    value checked against its field's type first, :func:`check_field`)."""
    import typing

    fields = {f.name for f in dataclasses.fields(cfg)}
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise ConfigError(f"{where}: unknown config field(s) {unknown} of "
                          f"{type(cfg).__name__}: use {sorted(fields)}")
    try:
        hints = typing.get_type_hints(type(cfg))
    except Exception:  # an annotation that does not resolve: the config validates alone
        hints = {}
    changes = {k: check_field(v, hints.get(k, Any), k, where) for k, v in changes.items()}
    try:
        return dataclasses.replace(cfg, **changes)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise ConfigError(f"{where}: {exc}") from None
        raise ConfigError(f"{where}: invalid config value: {exc}") from None


class Experiment:
    """How one experiment splits into units (subclasses: :class:`StudySweep`,
    :class:`ResNetSweep`)."""

    name: str
    #: grid key -> what it varies
    grid_keys: dict[str, str]

    def units(self, spec: SweepSpec) -> list[Unit]:
        """Every unit of the sweep, in grid order (validated before any work)."""
        raise NotImplementedError

    def run(self, config: Any, checkpoint_dir: Path) -> tuple[Any, dict[str, Any]]:
        """The result of the unit at ``config`` and notes for its provenance (e.g. how much it
        resumed from its checkpoint in ``checkpoint_dir``)."""
        raise NotImplementedError

    def merge(self, spec: SweepSpec, units: list[Unit], results: list[Any]
              ) -> tuple[Any, dict[str, Any]]:
        """The merged results of all units (``results[i]`` is unit ``i``'s) and the config they
        stand for."""
        raise NotImplementedError

    def check_grid(self, spec: SweepSpec) -> None:
        """Refuse grid keys this experiment does not have."""
        unknown = [k for k, _ in spec.grid if k not in self.grid_keys]
        if unknown:
            raise ConfigError(f"{spec.source}: unknown grid key(s) {unknown} for experiment "
                              f"{self.name!r}: use {sorted(self.grid_keys)}")


class StudySweep(Experiment):
    """A study of :mod:`numerics.experiments.registry` whose units are its parts: the product of
    the tuple fields of its config that its ``AXES`` name (grid key -> config field,
    :mod:`numerics.experiments.parts`); ``grid_keys`` describes each key for the help."""

    def __init__(self, name: str, study: str, grid_keys: dict[str, str]) -> None:
        self.name, self.study, self.grid_keys = name, study, grid_keys

    @property
    def axes(self) -> dict[str, str]:
        """The study's ``AXES``: grid key -> config field."""
        from numerics.experiments.registry import get_study

        return dict(get_study(self.study).axes)

    def full_config(self, spec: SweepSpec) -> Any:
        """The study's config of the whole grid: the profile's, the spec's overrides, and the
        grid's values in the axes' fields."""
        from numerics.experiments.registry import get_study
        from numerics.profiles import current_profile

        self.check_grid(spec)
        overrides = {k: _plain(v) for k, v in spec.config.items()}
        clash = sorted(set(overrides) & set(self.axes.values()))
        if clash:
            keys = [k for k, f in self.axes.items() if f in clash]
            raise ConfigError(f"{spec.source}: set {clash} through the grid (keys {keys}), "
                              "not under config")
        overrides.update({self.axes[k]: tuple(v) for k, v in spec.grid})
        study = get_study(self.study)
        scale = current_profile(spec.profile)
        base = study.config_for("full" if scale == "gpu" and "gpu" not in study.scales
                                else scale)
        return _replace(base, overrides, spec.source)

    def units(self, spec: SweepSpec) -> list[Unit]:
        """One unit per combination of the axes' values (the full config's order)."""
        full = self.full_config(spec)
        keys = list(self.axes)
        units = []
        for combo in itertools.product(*(getattr(full, self.axes[k]) for k in keys)):
            changes = {self.axes[k]: (v,) for k, v in zip(keys, combo, strict=True)}
            units.append(Unit(self.name, tuple(zip(keys, combo, strict=True)),
                              _replace(full, changes, spec.source)))
        return units

    def run(self, config: Any, checkpoint_dir: Path) -> tuple[Any, dict[str, Any]]:
        """Run the study at the unit's config, its inner runs checkpointed in
        ``checkpoint_dir``; the result is ``{"runs": {inner run name: result}}``."""
        from numerics.experiments.registry import run_study
        from numerics.experiments.units import unit_results

        resumed = len(unit_results(self.study, config, checkpoint_dir))
        run_study(self.study, config, checkpoint_dir=checkpoint_dir)
        runs = unit_results(self.study, config, checkpoint_dir)
        return {"runs": runs}, {"inner_runs": len(runs), "resumed_inner_runs": resumed}

    def merge(self, spec: SweepSpec, units: list[Unit], results: list[Any]
              ) -> tuple[Any, dict[str, Any]]:
        """The study's results at the whole grid's config, every inner run taken from the
        units (none is recomputed), and its one-line summary."""
        from numerics.experiments.registry import get_study, run_study
        from numerics.experiments.units import save_unit_results

        full = self.full_config(spec)
        runs: dict[str, Any] = {}
        for result in results:
            runs.update(result["runs"])
        with tempfile.TemporaryDirectory(prefix="advlandscape-merge-") as tmp:
            save_unit_results(self.study, full, tmp, runs)
            try:
                merged = run_study(self.study, full, checkpoint_dir=tmp, stop_after=0)
            except KeyboardInterrupt:
                raise ConfigError(f"the unit records of {spec.source} lack inner runs of the "
                                  f"{self.study} study at the grid's config: its units do not "
                                  "cover the grid (a bug: report it)") from None
        return {"study": self.study, "summary": get_study(self.study).judge(merged),
                "results": merged}, full


class ResNetSweep(Experiment):
    """The ResNet18 sweep: one unit per (dataset, training seed, eps)."""

    name = "resnet"
    grid_keys: ClassVar[dict[str, str]] = {
        "eps": "the L-inf budget (absolute)", "seed": "the training seed",
        "dataset": "mnist, cifar10 or svhn"}

    def _base(self, spec: SweepSpec, dataset: str) -> Any:
        from numerics.experiments.resnet import DATASETS, profile_config

        if dataset not in DATASETS:
            raise ConfigError(f"{spec.source}: unknown dataset {dataset!r}: use one of "
                              f"{DATASETS}")
        base = profile_config(dataset, spec.profile)
        overrides = {k: _plain(v) for k, v in spec.config.items()}
        for key in ("eps", "dataset"):
            if key in overrides:
                raise ConfigError(f"{spec.source}: set {key} through the grid, not under config")
        train = overrides.pop("train", None)
        if train is not None:
            if not isinstance(train, dict):
                raise ConfigError(f"{spec.source}: config.train must be a mapping of training "
                                  f"settings, got {train!r}")
            if "seed" in train:
                raise ConfigError(f"{spec.source}: set the training seed through the grid "
                                  "(seed), not under config.train")
            overrides["train"] = _replace(base.train, {k: _plain(v) for k, v in train.items()},
                                          spec.source)
        return _replace(base, overrides, spec.source)

    def units(self, spec: SweepSpec) -> list[Unit]:
        """One unit per dataset, seed and eps, in that order (defaults: mnist, the config's
        training seed and budgets)."""
        self.check_grid(spec)
        grid = dict(spec.grid)
        units = []
        for dataset in grid.get("dataset", ("mnist",)):
            base = self._base(spec, dataset)
            for seed in grid.get("seed", (base.train.seed,)):
                if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                    raise ConfigError(f"{spec.source}: grid seed values must be integers >= 0, "
                                      f"got {seed!r}")
                train = _replace(base.train, {"seed": seed}, spec.source)
                for eps in grid.get("eps", base.eps):
                    check_eps(eps, f"{spec.source}: grid eps value")
                    cfg = _replace(base, {"eps": (float(eps),), "train": train}, spec.source)
                    units.append(Unit(self.name, (("dataset", dataset), ("seed", seed),
                                                  ("eps", eps)), cfg))
        return units

    def run(self, config: Any, checkpoint_dir: Path) -> tuple[Any, dict[str, Any]]:
        """Train and measure the one budget (per-epoch checkpoints in ``checkpoint_dir``)."""
        from numerics.experiments.resnet import existing_checkpoints, run_resnet_experiment

        resumed = sum(len(v) for v in existing_checkpoints(config, checkpoint_dir).values())
        results = run_resnet_experiment(config, checkpoint_dir=checkpoint_dir, progress=False)
        return results, {"resumed_checkpoints": resumed}

    def merge(self, spec: SweepSpec, units: list[Unit], results: list[Any]
              ) -> tuple[Any, dict[str, Any]]:
        """Per dataset and seed, the runs of every budget (grid order)."""
        merged: dict[str, dict[str, Any]] = {}
        for unit, result in zip(units, results, strict=True):
            values = dict(unit.values)
            entry = merged.setdefault(values["dataset"], {}).setdefault(
                str(values["seed"]), {"label": result["label"], "data_note": result["data_note"],
                                      "n_train": result["n_train"], "n_test": result["n_test"],
                                      "runs": []})
            entry["runs"].extend(result["runs"])
        return {"datasets": merged}, {"experiment": "resnet", "grid": dict(spec.grid),
                                      "config": spec.config, "profile": spec.profile}


EXPERIMENTS: dict[str, Experiment] = {
    "sensitivity": StudySweep("sensitivity", "sensitivity",
                              {"setting": "a hyperparameter setting of the sensitivity study",
                               "table": "Yamada et al.'s table 1-4", "seed": "the repetition"}),
    "pas": StudySweep("pas", "pas", {"lr": "the learning rate", "seed": "the repetition"}),
    "resnet": ResNetSweep(),
}


def experiment_for(name: str, source: str = "sweep spec") -> Experiment:
    """The experiment called ``name``; a ConfigError listing the known ones otherwise."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"{source}: unknown experiment {name!r}: use one of "
                          f"{sorted(EXPERIMENTS)}")
    return EXPERIMENTS[name]
