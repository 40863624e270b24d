"""``advlandscape data``: check the data files (presence and checksums) or download a data set."""

from __future__ import annotations

import argparse
import os

from numerics.data.fetch import download
from numerics.data.paths import ENV_VAR, MIRROR_ENV, OFFLINE_ENV, data_dir, offline
from numerics.data.registry import DATASETS, FileStatus, check_dataset, offline_message
from theory.errors import DataError

__all__ = ["FAMILIES", "REQUIRED", "check", "register", "run"]

#: data set families: a family is usable when any one of its layouts is complete.
FAMILIES = {
    "mnist": ("mnist",),
    "cifar10": ("cifar10", "cifar10-batches", "cifar10-npz"),
    "svhn": ("svhn",),
    "svhn-extra": ("svhn-extra",),
}
REQUIRED = "mnist"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` subcommand."""
    parser = subparsers.add_parser(
        "data", help="check the data files' checksums, or download a data set",
        description="Check where the data layer looks and whether every known file is present "
        f"with the right checksum, or download a data set. Data root: --data-dir, else "
        f"${ENV_VAR}, else ~/.cache/advlandscape/data. Every command downloads a missing data "
        f"set on first use unless ${OFFLINE_ENV}=1 is set; ${MIRROR_ENV} replaces the official "
        "servers (a base URL whose files keep their official names).",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true",
                        help="print a table of every data set and file; exit 0 when MNIST is "
                        "present and verified and no present file is corrupt")
    action.add_argument("--download", metavar="NAME",
                        choices=[n for n, d in DATASETS.items() if d.downloadable],
                        help="download a data set: %(choices)s")
    parser.add_argument("--data-dir", metavar="DIR", help=f"data root (default: ${ENV_VAR})")
    parser.add_argument("--no-checksum", action="store_true",
                        help="with --check: only report presence (fast)")
    parser.add_argument("--offline", action="store_true",
                        help=f"as ${OFFLINE_ENV}=1 (which every command reads): no downloads; "
                        "with --check, say for each missing data set what to copy where")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``--check`` or ``--download``; errors are :class:`theory.errors.DataError`."""
    if args.offline:
        if args.download:
            raise DataError("--offline and --download contradict each other: drop --offline to "
                            "download, or copy the files by hand (`advlandscape data --check "
                            "--offline` says which, and where)")
        os.environ[OFFLINE_ENV] = "1"
    if args.download:
        fetched = download(args.download, args.data_dir)
        folder = DATASETS[args.download].folder(args.data_dir)
        if fetched:
            print(f"{args.download}: fetched and verified {len(fetched)} file(s) into {folder}")
        else:
            print(f"{args.download}: every file was present and verified in {folder}")
        return 0
    return check(args.data_dir, checksums=not args.no_checksum)


def check(root: str | None = None, *, checksums: bool = True) -> int:
    """Print the status table; return 0, or 1 if a present file is corrupt or MNIST unusable."""
    print(f"data root: {data_dir(root)}")
    no_downloads = offline()
    print("downloads on first use: " + (f"off (${OFFLINE_ENV})" if no_downloads else
          f"on, from {os.environ.get(MIRROR_ENV) or 'the official servers'} "
          f"(${OFFLINE_ENV}=1 turns them off)"))
    corrupt = False
    usable: dict[str, list[str]] = {}
    for family, layouts in FAMILIES.items():
        complete = []
        for layout in layouts:
            rows = check_dataset(layout, root, checksums=checksums)
            spec = DATASETS[layout]
            print(f"\n{layout}: {spec.description}\n  in {spec.folder(root)}")
            for row in rows:
                print("  " + _format_row(row))
            corrupt |= any(r.checksum == "bad" for r in rows)
            needed = [r for r in rows if not r.spec.optional]
            if all(r.present and r.checksum != "bad" for r in needed):
                complete.append(layout)
        usable[family] = complete
    print("\nsummary:")
    for family, complete in usable.items():
        if complete:
            state = f"usable ({', '.join(complete)})"
            if complete == ["cifar10-npz"]:
                state += ": test images 0..999 only"
        else:
            state = "MISSING" if family == REQUIRED else "absent (optional)"
            if not no_downloads and DATASETS[FAMILIES[family][0]].downloadable:
                state += ": downloaded on first use"
        print(f"  {family:<11} {state}")
    if not checksums:
        print("checksums not computed (--no-checksum)")
    if corrupt:
        print("a present file is corrupt (see 'bad' above): delete it and fetch it again")
        return 1
    if not usable[REQUIRED]:
        mnist = DATASETS[REQUIRED]
        missing = [s for s in mnist.files if not (mnist.folder(root) / s.name).is_file()]
        if no_downloads and missing:
            print(offline_message(mnist, root, missing))
        else:
            print(f"MNIST is required: it is downloaded on first use (any command that needs "
                  f"it), or now by `advlandscape data --download mnist`; or set ${ENV_VAR} "
                  "(or --data-dir) to a data root holding mnist/")
        return 1
    return 0


def _format_row(row: FileStatus) -> str:
    presence = "present" if row.present else "missing"
    line = f"{row.spec.name:<34} {presence:<8} {row.checksum}"
    if row.spec.optional and not row.present:
        line += " (optional)"
    if row.detail:
        line += f"\n      {row.detail}"
    return line
