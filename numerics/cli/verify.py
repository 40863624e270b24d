"""``advlandscape verify``: run the claims' checks and print the ledger with computed verdicts."""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from numerics.ledger import build_ledger, format_ledger
from theory.claims import CLAIMS, claim_ids

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``verify`` subcommand."""
    parser = subparsers.add_parser(
        "verify", help="run the symbolic and numeric checks of every claim and print the ledger",
        description="Run the checks of every claim (docs/claims.md) and print verdicts computed "
        "now.",
    )
    parser.add_argument("--json", action="store_true", help="print the ledger as JSON")
    parser.add_argument("--data", action="store_true",
                        help="also use the data experiments' results where they exist")
    parser.add_argument("--claim", action="append", metavar="ID",
                        help="only this claim (repeatable; case-insensitive): "
                        f"{', '.join(c.id for c in CLAIMS)}")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the ledger; exit 1 when a check crashed, never for a computed 'fails'.

    An unknown ``--claim`` id is a :class:`theory.errors.ConfigError` (exit 2) before any check
    runs.
    """
    ids = claim_ids(args.claim) if args.claim else None
    bar = tqdm(total=len(ids) if ids else len(CLAIMS), desc="verify", unit="claim",
               file=sys.stderr, disable=None)

    def step(claim_id: str) -> None:
        bar.set_postfix_str(claim_id)
        bar.update(1)

    rows = build_ledger(include_data=args.data, ids=ids, progress=step)
    bar.close()
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2, default=str))
    else:
        print(format_ledger(rows))
    crashed = any(e.summary.startswith("check crashed") for r in rows for e in r.evidence)
    return 1 if crashed else 0
