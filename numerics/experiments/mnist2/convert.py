"""Records of the MNIST2 family written before its configs held the attacks themselves.

Until then :class:`~numerics.experiments.mnist2.config.MNIST2Config` restated eight fields of
:class:`numerics.attacks.AttackSpec` (``train_steps``, ``eval_steps``, ``step_factor``,
``train_start``, ``train_projection``, ``eval_starts``, ``eval_projection``, ``attack_dtype``);
now it holds ``train_attack`` and ``eval_attacks``, AttackSpec values whose norm each table sets.
:func:`convert_config` maps the old fields to the new ones (the same attacks: the tables' own
``train_attack``/``eval_attack`` entries, which always recorded the specs, are unchanged), and
the sensitivity study's setting overrides likewise. ``python -m
numerics.experiments.mnist2.convert FILE...`` converts records in place
(:func:`numerics.records.convert_record`: their provenance says so, their digest is new).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
from collections.abc import Sequence
from typing import Any

from numerics.attacks import AttackSpec
from numerics.records import convert_record

__all__ = ["OLD_FIELDS", "convert_config", "convert_overrides", "main"]

#: The fields the attacks replace.
OLD_FIELDS = ("train_steps", "eval_steps", "step_factor", "train_start", "train_projection",
              "eval_starts", "eval_projection", "attack_dtype")
_NESTED = {"train_steps": "steps", "step_factor": "step_factor",
           "train_projection": "projection", "train_start": "start"}


def _spec(**fields: Any) -> dict[str, Any]:
    return dataclasses.asdict(AttackSpec("pgd", "l2", **fields))


def convert_config(old: dict[str, Any]) -> dict[str, Any]:
    """An MNIST2Config as stored before, with its attack fields as ``train_attack`` and
    ``eval_attacks`` (in the same place of the key order); a config without them is returned
    as it is."""
    if "train_steps" not in old:
        return old
    dtype = old["attack_dtype"]
    train = _spec(steps=old["train_steps"], step_factor=old["step_factor"],
                  start=old["train_start"], projection=old["train_projection"],
                  iterate_dtype=dtype)
    evals = [_spec(steps=old["eval_steps"], step_factor=old["step_factor"], start=start,
                   projection=old["eval_projection"], iterate_dtype=dtype)
             for start in old["eval_starts"]]
    out: dict[str, Any] = {}
    for key, value in old.items():
        if key == "train_steps":
            out["train_attack"], out["eval_attacks"] = train, evals
        elif key not in OLD_FIELDS:
            out[key] = value
    return out


def convert_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """A sensitivity setting's overrides with the old attack fields as ``train_attack``
    changes."""
    out = {k: v for k, v in overrides.items() if k not in _NESTED}
    nested = {_NESTED[k]: v for k, v in overrides.items() if k in _NESTED}
    if nested:
        out["train_attack"] = nested
    return out


def _change(record: dict[str, Any]) -> None:
    if record["config"].get("train_steps") is not None:
        record["config"] = convert_config(record["config"])
    for setting in record["results"].get("settings", {}).values():
        setting["overrides"] = convert_overrides(setting["overrides"])


def main(argv: Sequence[str] | None = None) -> int:
    """Convert the records named on the command line in place."""
    parser = argparse.ArgumentParser(prog="python -m numerics.experiments.mnist2.convert",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    note = (f"{datetime.date.today().isoformat()}: the config's attack fields "
            f"({', '.join(OLD_FIELDS)}) became train_attack and eval_attacks (AttackSpec "
            "values), by numerics.experiments.mnist2.convert; the attacks and the results are "
            "unchanged")
    for path in args.files:
        convert_record(path, _change, note)
        print(f"converted {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
