"""Benchmark: one full MNIST2 seed of the suite against a plain float32 script, process against
process.

(a) the suite: ``advlandscape mnist2 --profile full --seeds 0`` (tables 1-4 with the exact
robust accuracies, both Hessians' top eigenvalues, the landscapes, the record, CSV, tables and
figures), as a subprocess;
(b) a plain reference written the way common adversarial-training code is, as a subprocess
(``python benchmarks/mnist2_speed.py --reference``): MNIST read with numpy, float32
``nn.Linear`` one model at a time, SGD (lr 0.01, momentum 0.9), batch 128, 10 epochs, PGD-10
through autograd (random start in the ball, step 2.5 eps / 10, ball then box) for the
adversarial tables and uniform noise for the random ones, early stopping on the PGD-20 test
accuracy each epoch and the PGD-20 train and test accuracies of the selected model: tables 1-4
only (no Hessians, landscapes or exact evaluation).

Both run with the same number of torch threads, in the order AB then BA; the script prints each
run's wall-clock and CPU seconds, the suite's phases (its record's ``seconds``), the
reference's, the per-seed ratio (reference over suite) of each pair and the load average before
and after. On a machine shared with other jobs compare the CPU seconds as well as the wall
clock: both change with the load.

    python benchmarks/mnist2_speed.py --threads 2
    python benchmarks/mnist2_speed.py --threads 1 --order AB
    python benchmarks/mnist2_speed.py --threads 1 --order CB,BC --before 9490d49 --keep /tmp/k
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

L2_EPS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
LINF_EPS = tuple(k / 255 for k in (0.0, 4.0, 8.0, 12.0, 16.0, 25.5, 51.0, 76.5))
TABLES = {1: ("l2", "adversarial", L2_EPS), 2: ("l2", "random", L2_EPS),
          3: ("linf", "adversarial", LINF_EPS), 4: ("linf", "random", LINF_EPS[:5])}


# ---------------------------------------------------------------------------------------------
# (b) the plain reference: nothing from the suite
# ---------------------------------------------------------------------------------------------


def _read_idx(path: Path):
    import numpy as np

    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _mnist2(root: Path, split: str):
    import torch

    prefix = "train" if split == "train" else "t10k"
    x = _read_idx(root / f"{prefix}-images-idx3-ubyte.gz")
    y = _read_idx(root / f"{prefix}-labels-idx1-ubyte.gz")
    keep = (y == 0) | (y == 1)
    X = torch.from_numpy(x[keep].reshape(-1, 784).astype("float32") / 255.0)
    return X, torch.from_numpy(y[keep].astype("float32") * 2 - 1)


def _pgd(model, x, y, eps, norm, steps, generator):
    import torch
    from torch.nn.functional import softplus

    alpha = 2.5 * eps / steps
    xa = _noise(x, eps, norm, generator)  # the random start: uniform in the ball, in the box
    for _ in range(steps):
        xa.requires_grad_(True)
        loss = softplus(-y * model(xa).squeeze(1)).sum()
        (g,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            if norm == "l2":
                xa = xa + alpha * g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
                delta = xa - x
                n = delta.norm(dim=1, keepdim=True)
                delta = delta * torch.where(n > eps, eps / n.clamp_min(1e-12), 1.0)
            else:
                xa = xa + alpha * g.sign()
                delta = (xa - x).clamp(-eps, eps)
            xa = (x + delta).clamp(0, 1)
    return xa.detach()


def _noise(x, eps, norm, generator):
    import torch

    if norm == "l2":
        d = torch.randn(x.shape, generator=generator)
        d = d / d.norm(dim=1, keepdim=True)
        d = d * eps * torch.rand((x.shape[0], 1), generator=generator) ** (1 / x.shape[1])
    else:
        d = (2 * torch.rand(x.shape, generator=generator) - 1) * eps
    return (x + d).clamp(0, 1)


def _accuracy(model, X, y, eps, norm, adversarial, generator):
    import torch

    correct = 0
    for i in range(0, X.shape[0], 4096):
        x, t = X[i:i + 4096], y[i:i + 4096]
        if adversarial and eps > 0:
            x = _pgd(model, x, t, eps, norm, 20, generator)
        with torch.no_grad():
            correct += int((t * model(x).squeeze(1) > 0).sum())
    return 100.0 * correct / X.shape[0]


def reference(threads: int, data_root: Path, epochs: int = 10) -> dict:
    """Tables 1-4 of one seed, one float32 model at a time; returns accuracies and phases."""
    import torch
    from torch.nn.functional import softplus

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    Xtr, ytr = _mnist2(data_root, "train")
    Xte, yte = _mnist2(data_root, "test")
    seconds = {"load": time.perf_counter() - t0, "train": 0.0, "evaluate": 0.0}
    rows = {}
    for number, (norm, training, eps_list) in TABLES.items():
        adversarial = training == "adversarial"
        for eps in eps_list:
            gen = torch.Generator().manual_seed(number)
            model = torch.nn.Linear(784, 1)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            best, best_state = -1.0, None
            for _ in range(epochs):
                t = time.perf_counter()
                order = torch.randperm(Xtr.shape[0], generator=gen)
                for i in range(0, Xtr.shape[0], 128):
                    idx = order[i:i + 128]
                    xb, yb = Xtr[idx], ytr[idx]
                    if eps > 0:
                        xb = (_pgd(model, xb, yb, eps, norm, 10, gen) if adversarial
                              else _noise(xb, eps, norm, gen))
                    loss = softplus(-yb * model(xb).squeeze(1)).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                t1 = time.perf_counter()
                score = _accuracy(model, Xte, yte, eps, norm, adversarial, gen)
                if score >= best:
                    best = score
                    best_state = {k: v.clone() for k, v in model.state_dict().items()}
                seconds["train"] += t1 - t
                seconds["evaluate"] += time.perf_counter() - t1
            t = time.perf_counter()
            model.load_state_dict(best_state)
            train_acc = _accuracy(model, Xtr, ytr, eps, norm, adversarial, gen)
            seconds["evaluate"] += time.perf_counter() - t
            rows[f"{number}:{eps:.4f}"] = (round(train_acc, 2), round(best, 2))
    return {"seconds": seconds, "rows": rows}


# ---------------------------------------------------------------------------------------------
# The driver: both as subprocesses, AB then BA
# ---------------------------------------------------------------------------------------------


def _timed(cmd: list[str], env: dict,
           cwd: Path = REPO) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall-clock and CPU (user + sys of the child) seconds of one subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def _suite(threads: int, env: dict, out: Path, code: Path = REPO,
           keep: Path | None = None) -> tuple[float, float, dict]:
    cmd = [sys.executable, "-m", "numerics.cli", "mnist2", "--profile", "full", "--seeds", "0",
           "--threads", str(threads), "--out", str(out), "--overwrite", "--fresh",
           "--no-progress"]
    wall, cpu, _ = _timed(cmd, dict(env, PYTHONPATH=str(code)), cwd=code)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "mnist2.json", keep / "mnist2.json")
    record = json.loads((out / "mnist2.json").read_text())["results"]
    phases: dict[str, float] = {}
    for table in record["tables"].values():
        for phase, sec in table["per_seed"][0]["seconds"].items():
            phases[phase] = phases.get(phase, 0.0) + sec
    phases["rest"] = wall - sum(phases.values())
    return wall, cpu, phases


def _reference(threads: int, env: dict) -> tuple[float, float, dict]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--reference",
           "--threads", str(threads)]
    wall, cpu, done = _timed(cmd, env)
    phases = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
    phases["rest"] = wall - sum(phases.values())
    return wall, cpu, phases


def _fmt(phases: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in phases.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--order", default="AB,BA",
                        help="A = reference, B = suite, C = the suite at --before; "
                             "comma-separated pairs (default AB,BA)")
    parser.add_argument("--before", help="a git revision of the suite to time as C")
    parser.add_argument("--keep", type=Path,
                        help="copy each suite record here (B/ and C/), to compare results")
    parser.add_argument("--reference", action="store_true",
                        help="run the plain reference in this process and print its JSON")
    parser.add_argument("--data", default=os.environ.get("ADVLANDSCAPE_DATA"),
                        help="data root holding mnist/ (default $ADVLANDSCAPE_DATA)")
    args = parser.parse_args()
    data = Path(args.data or Path.home() / ".cache" / "advlandscape" / "data")
    if args.reference:
        print(json.dumps(reference(args.threads, data / "mnist")))
        return
    env = dict(os.environ, PYTHONPATH=str(REPO), ADVLANDSCAPE_DATA=str(data),
               MPLBACKEND="Agg", TQDM_DISABLE="1")
    print(f"threads {args.threads}; load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        before = None
        if args.before:  # the suite at another revision, exported (no worktree)
            before = Path(tmp) / "before"
            before.mkdir()
            archive = subprocess.run(["git", "archive", args.before], cwd=REPO, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        for pair in args.order.split(","):
            runs = {}
            for who in pair:
                if who == "A":
                    runs[who] = _reference(args.threads, env)
                    name = "reference"
                else:
                    code = REPO if who == "B" else before
                    keep = None if args.keep is None else args.keep / who
                    runs[who] = _suite(args.threads, env, Path(tmp) / f"suite{who}", code, keep)
                    name = "suite    " if who == "B" else f"suite@{args.before}"
                wall, cpu, phases = runs[who]
                print(f"  {pair} {name}: {wall:6.1f} s wall, {cpu:6.1f} s CPU  ({_fmt(phases)})"
                      f"  load {os.getloadavg()[0]:.2f}", flush=True)
            for slow, label in (("A", "reference"), ("C", f"suite@{args.before}")):
                if slow in runs and "B" in runs:
                    (wa, ca, _), (wb, cb, _) = runs[slow], runs["B"]
                    print(f"{pair}: per-seed ratio {label} / suite: {wa / wb:.2f}x wall, "
                          f"{ca / cb:.2f}x CPU", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
