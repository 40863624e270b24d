"""Argument types of the command line: every value checked when the arguments are parsed.

Each function is an argparse ``type=``: it returns the value or raises
``argparse.ArgumentTypeError``, which the parser prints as one line with exit 2
(``advlandscape <command>: error: argument --x: ...``) before any work. The rules are those of
:mod:`numerics.validate` (counts, seeds), so a value the library refuses never gets past the
parser either.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from numerics.validate import SEED_MAX, available_cpus, check_count, check_gpu_profile
from theory.errors import ConfigError

__all__ = ["count", "gpu_profile", "positive_count", "positive_seconds", "seed", "seed_list",
           "threads"]


def _integer(text: str, minimum: int, maximum: int | None, what: str = "an integer",
             note: str = "") -> int:
    bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
    try:
        return check_count(int(text.strip(), 10), "value", minimum, maximum)
    except (ValueError, ConfigError):  # ConfigError is a ValueError
        raise argparse.ArgumentTypeError(f"takes {what} {bound}{note}, got {text!r}") from None


def count(text: str) -> int:
    """An integer >= 0 (``--n-test 0``: the whole split, where a command says so)."""
    return _integer(text, 0, None)


def positive_count(text: str) -> int:
    """An integer >= 1."""
    return _integer(text, 1, None)


def seed(text: str) -> int:
    """A seed: an integer in ``0..2**32 - 1`` (:data:`numerics.validate.SEED_MAX`)."""
    return _integer(text, 0, SEED_MAX, "a seed, an integer")


def seed_list(text: str) -> tuple[int, ...]:
    """Comma-separated seeds (``"0,1,2"``), each as :func:`seed`, at least one, none twice."""
    parts = [t.strip() for t in text.split(",") if t.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"takes comma-separated seeds, got {text!r}")
    seeds = tuple(_integer(t, 0, SEED_MAX, "seeds, integers") for t in parts)
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"repeats a seed, got {text!r}: give each seed once")
    return seeds


def threads(text: str) -> int:
    """Threads: an integer from 1 to the cores this process may use."""
    return _integer(text, 1, available_cpus(), note=" (the cores this machine gives the run)")


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"takes a finite number of seconds > 0, got {text!r}")
    return value


def gpu_profile(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A ``--profile`` type: one of ``choices``, and ``gpu`` only where torch sees a GPU
    (:func:`numerics.validate.check_gpu_profile`)."""
    def parse(text: str) -> str:
        name = text.strip().lower()
        if name not in choices:
            raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from "
                                             f"{', '.join(choices)})")
        try:
            return check_gpu_profile(name, "--profile")
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "profile"
    return parse
