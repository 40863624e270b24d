"""``advlandscape report``: execute the notebooks with a profile and build the offline HTML site."""

from __future__ import annotations

import argparse
import sys

from numerics.cli import values
from numerics.profiles import PROFILES, current_profile
from theory.errors import ConfigError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report", help="execute every notebook and build the offline HTML report with the ledger",
        description="Execute the notebooks (each in a fresh kernel, with the chosen profile), "
        "render them to standalone pages (math by a bundled MathJax, figures embedded) and write "
        "index.html with the claims ledger, its verdicts computed now. A failing notebook does "
        "not stop the others; the exit code is 0 only when every notebook passed. Each notebook "
        "that passed is checkpointed beside the site until the site is written, so the same "
        "command run again after an interruption executes only the notebooks left.",
    )
    parser.add_argument("--profile", choices=PROFILES, default=None,
                        help="scale of the notebooks (default: $ADVLANDSCAPE_PROFILE, else ci)")
    parser.add_argument("--out", default="site", metavar="DIR",
                        help="folder of the site, replaced when the build completes; an "
                        "existing folder must be empty or a site this command wrote (it holds "
                        ".advlandscape-site) (default: site/)")
    parser.add_argument("--notebooks", nargs="+", metavar="NB",
                        help="only these notebooks (paths, or names like 03_theorem1; "
                        "default: every notebooks/NN_*.ipynb)")
    parser.add_argument("--no-data", action="store_true",
                        help="leave the claims' data checks out of the ledger")
    parser.add_argument("--no-ledger", action="store_true",
                        help="leave the ledger out of index.html (quicker, for the ritual)")
    parser.add_argument("--no-execute", action="store_true",
                        help="render the stored outputs without executing (a quick look)")
    parser.add_argument("--store", action="store_true",
                        help="write each executed notebook that passed back to its .ipynb "
                        "(the notebook ritual; ci profile only)")
    parser.add_argument("--fresh", action="store_true",
                        help="discard the checkpoints of an interrupted build (.<out>.partial/) "
                        "and execute every notebook; by default a build started again reuses "
                        "the notebooks it executed whose source, profile and code are unchanged")
    parser.add_argument("--timeout", type=values.positive_count, default=1800, metavar="S",
                        help="seconds one cell may run (default: 1800)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the site, print the summary; exit 1 when a notebook failed."""
    from pathlib import Path

    from numerics.records import output_lock
    from numerics.validate import check_gpu_profile, check_writable_dir

    if not args.no_execute:  # the gpu profile executes the notebooks at a GPU's scale
        check_gpu_profile(current_profile(args.profile), "--profile (or $ADVLANDSCAPE_PROFILE)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():  # the build says so too, after the lock
        raise ConfigError(f"--out {out} is a file: give a folder for the site")
    check_writable_dir(out.resolve().parent, "folder of the site", "--out")
    with output_lock(out.resolve()):  # a second build of this --out stops here, at once
        return _build(args)


def _build(args: argparse.Namespace) -> int:
    """Build the site (its folder locked), print the summary."""
    from numerics.report import build_report

    summary = build_report(
        profile=current_profile(args.profile), out=args.out, notebooks=args.notebooks,
        timeout=args.timeout, include_data=not args.no_data, execute=not args.no_execute,
        store=args.store, ledger=[] if args.no_ledger else None, fresh=args.fresh,
    )
    print(summary.format())
    if not summary.passed:
        print("advlandscape report: some notebooks failed (see above); the pages of the others "
              "were written", file=sys.stderr)
    return 0 if summary.passed else 1
