"""A sweep file: which experiment, its config, the grid of units, and each unit's resources.

A sweep file is YAML::

    experiment: pas            # mnist2 (the MNIST2 sensitivity grid), pas, resnet
    profile: ci                # optional: the scale of the base config (default: the current)
    config:                    # optional: overrides of the experiment's config at that profile
      n_train: 400
    grid:                      # optional: the values of each grid key (default: the config's)
      lr: [0.01, 0.1]
      seed: [0, 1]
    resources:                 # optional: what one unit needs (default: 1 CPU, no GPU)
      num_cpus: 1
      num_gpus: 0
    max_retries: 3             # optional: Ray's retries of a unit whose worker died

:func:`load_spec` reads and validates it (one :class:`theory.errors.ConfigError` naming the file
and the problem); which grid keys an experiment has is checked by :mod:`numerics.sweep.experiments`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from theory.errors import ConfigError

__all__ = ["MAX_SPEC_BYTES", "RESOURCES", "Resources", "SweepSpec", "load_spec", "parse_spec",
           "parse_yaml"]

#: The resources a unit may ask for (Ray's task options of the same names).
RESOURCES = ("num_cpus", "num_gpus")
_KEYS = ("experiment", "profile", "config", "grid", "resources", "max_retries")
_PROFILES = ("ci", "full", "gpu")


@dataclass(frozen=True)
class Resources:
    """What one unit needs: ``num_cpus`` CPU cores (also its torch and BLAS threads, wherever it
    runs, so that results do not depend on the executor) and ``num_gpus`` GPUs (Ray's share)."""

    num_cpus: int = 1
    num_gpus: float = 0.0


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file.

    Attributes:
        experiment: the experiment's name (:data:`numerics.sweep.experiments.EXPERIMENTS`).
        profile: the scale of its base config (None: the current profile).
        config: overrides of the base config (plain YAML values).
        grid: ``((key, (value, ...)), ...)`` in the file's order.
        resources: each unit's :class:`Resources`. max_retries: Ray's retries of a unit whose
            worker process died. source: where the spec came from (for messages).
    """

    experiment: str
    profile: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    resources: Resources = Resources()
    max_retries: int = 3
    source: str = "sweep spec"


def _int(value: Any, name: str, minimum: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def _resources(raw: Any, where: str) -> Resources:
    if raw is None:
        return Resources()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: resources must be a mapping of {RESOURCES}, got {raw!r}")
    unknown = sorted(set(raw) - set(RESOURCES))
    if unknown:
        raise ConfigError(f"{where}: unknown resource(s) {unknown}: a unit may ask for "
                          f"{list(RESOURCES)} only")
    cpus = _int(raw.get("num_cpus", 1), "resources.num_cpus", 1, where)
    gpus = raw.get("num_gpus", 0)
    if isinstance(gpus, bool) or not isinstance(gpus, int | float) or not math.isfinite(gpus) \
            or gpus < 0:
        raise ConfigError(f"{where}: resources.num_gpus must be a number >= 0, got {gpus!r}")
    return Resources(num_cpus=cpus, num_gpus=float(gpus))


def _grid(raw: Any, where: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: grid must map each grid key to a list of values, got "
                          f"{raw!r}")
    out = []
    for key, values in raw.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ConfigError(f"{where}: grid key {key!r} has no values: give at least one")
        for i, value in enumerate(values):  # 1 and 1.0 are one value: the unit would run twice
            if any(_same(value, other) for other in values[:i]):
                raise ConfigError(f"{where}: grid key {key!r} repeats a value: {values} (each "
                                  "unit would run twice): give each value once")
        out.append((str(key), tuple(values)))
    return tuple(out)


def _same(a: Any, b: Any) -> bool:
    """Whether two grid values are the same value (``1 == 1.0``; ``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    try:
        return bool(a == b) and (isinstance(a, int | float) == isinstance(b, int | float))
    except Exception:
        return repr(a) == repr(b)


def parse_spec(raw: Any, source: str = "sweep spec") -> SweepSpec:
    """Validate a sweep spec given as a mapping (the parsed YAML); ``source`` names it in errors.

    Raises:
        ConfigError: not a mapping, an unknown top-level key, no experiment, a bad profile,
            grid, resource or max_retries.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a sweep spec is a mapping with keys {list(_KEYS)}, got "
                          f"{type(raw).__name__}")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}: a sweep spec has {list(_KEYS)}")
    experiment = raw.get("experiment")
    if not isinstance(experiment, str) or not experiment:
        raise ConfigError(f"{source}: name the experiment (experiment: sensitivity, pas or resnet)")
    profile = raw.get("profile")
    if profile is not None and profile not in _PROFILES:
        raise ConfigError(f"{source}: profile must be one of {_PROFILES}, got {profile!r}")
    config = raw.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: config must be a mapping of config fields, got {config!r}")
    return SweepSpec(experiment=experiment, profile=profile, config=dict(config),
                     grid=_grid(raw.get("grid"), source),
                     resources=_resources(raw.get("resources"), source),
                     max_retries=_int(raw.get("max_retries", 3), "max_retries", 0, source),
                     source=source)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate the sweep file ``path`` (YAML).

    Raises:
        ConfigError: the file is missing or not valid YAML, or :func:`parse_spec` refuses it.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ConfigError(f"sweep file {path} is a folder: give the path of a YAML sweep "
                              "file")
        with path.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"sweep file {path} does not exist: give the path of a YAML sweep "
                          "file (README, 'Sweeps')") from None
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise ConfigError(f"sweep file {path} is over {MAX_SPEC_BYTES // 1024} KiB: a sweep file "
                          "is a few lines of YAML (is it the right file?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"sweep file {path} is not UTF-8 text (byte {exc.start}): give a YAML "
                          "sweep file") from None
    return parse_spec(parse_yaml(text, str(path)), str(path))


#: The largest sweep file read (a sweep file is a few lines).
MAX_SPEC_BYTES = 64 * 1024


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader that refuses duplicate keys and anchors/aliases (:func:`parse_yaml`)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ConfigError(f"{self.name}: line {event.start_mark.line + 1}: an alias "
                              f"(*{event.anchor}): sweep files take no anchors or aliases "
                              "(they can expand exponentially); write the values out")
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise ConfigError(f"{self.name}: line {event.start_mark.line + 1}: an anchor "
                              f"(&{event.anchor}): sweep files take no anchors or aliases "
                              "(they can expand exponentially); write the values out")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                line = seen.get(key)
            except TypeError:  # an unhashable key: the base class says so
                break
            if line is not None:
                raise ConfigError(f"{self.name}: line {key_node.start_mark.line + 1}: key "
                                  f"{key!r} given twice (first on line {line}): keep one")
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _StrictLoader.construct_mapping)


def parse_yaml(text: str, source: str = "sweep spec") -> Any:
    """Parse a sweep file's YAML: safe types only, no duplicate keys, no anchors or aliases.

    Raises:
        ConfigError: invalid YAML (with its line), a key given twice in one mapping (YAML would
            keep the last silently), an anchor or alias (a few lines of them expand to
            billions of nodes).
    """
    loader = _StrictLoader(text)
    loader.name = source
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ConfigError(f"sweep file {source} is not valid YAML{at}: fix it") from None
    finally:
        loader.dispose()
