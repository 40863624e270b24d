"""The dense Hessian keeps its memory plan: the peak, measured in a fresh process, against it.

``dense_hessian`` holds one P x P matrix, filled a chunk of rows at a time and symmetrised in
place, plus one chunk's working memory (:func:`numerics.nets.curvature.plan_dense_hessian`). The
peak is resident memory, not Python's allocations (tracemalloc does not see torch's buffers):
a fresh interpreter builds the model and data, asks for the plan, resets the peak (``VmHWM``,
through ``/proc/self/clear_refs``), records ``VmRSS``, computes the Hessian and reports the peak
after it. Memory, not time, is asserted, so the test holds
on a busy machine. Before the fix the call held three P x P matrices (the out-of-place
``0.5 * (H + H.T)``): a rise of 3.7 times the matrix here (642 MiB), past the plan (302 MiB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from numerics.nets.curvature import _symmetrise_

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20
WORK_BYTES = 128 * MIB  # the working chunk asked for; the matrix is 174 MiB (P = 4,780)

MEASURE = f"""
import json, resource, torch
from numerics.nets import MLP
from numerics.nets.curvature import dense_hessian, plan_dense_hessian
torch.set_num_threads(1)
torch.manual_seed(0)
model = MLP(in_features=784, num_classes=10, hidden=(6,), activation="softplus",
            dtype=torch.float64)
x = torch.rand((32, 1, 28, 28), dtype=torch.float64)
y = torch.randint(0, 10, (32,))
# warm up: torch's one-off state of the first HVPs (autograd's functional transforms, scripted
# decompositions) on a model too small to matter, so the rise below is the call's own
dense_hessian(MLP(in_features=784, num_classes=10, hidden=(1,), activation="softplus",
                  dtype=torch.float64), x[:2], y[:2], work_bytes={WORK_BYTES})
plan = plan_dense_hessian(model, x, y, work_bytes={WORK_BYTES})


def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))


try:  # reset the peak (VmHWM) so that it is the call's, not the imports' or the warm-up's
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    peak_field = "VmHWM:"
except OSError:
    peak_field = None
before = status("VmRSS:")
H = dense_hessian(model, x, y, work_bytes={WORK_BYTES})
peak = (status(peak_field) if peak_field else
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
print(json.dumps({{"P": plan.parameters, "matrix": plan.matrix_bytes, "work": plan.work_bytes,
                  "plan": plan.total_bytes, "rise": peak - before,
                  "symmetric": bool(torch.equal(H, H.T))}}))
"""


def test_dense_hessian_peak_stays_within_its_plan() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run([sys.executable, "-c", MEASURE], env=env, capture_output=True,
                         text=True, timeout=600, cwd=REPO)
    assert run.returncode == 0, run.stderr
    r = json.loads(run.stdout.strip().splitlines()[-1])
    assert r["P"] == 4780
    assert r["matrix"] == 4780**2 * 8
    assert r["symmetric"]
    # the plan counts at most the matrix, half a matrix of slack and the working chunk asked for
    assert r["work"] <= WORK_BYTES
    assert r["plan"] <= 1.5 * r["matrix"] + WORK_BYTES
    # and the call keeps it: one matrix, not the three of an out-of-place symmetrisation
    assert r["rise"] <= r["plan"], (
        f"peak rise {r['rise'] / MIB:.0f} MiB past the plan {r['plan'] / MIB:.0f} MiB "
        f"(matrix {r['matrix'] / MIB:.0f} MiB)")
    assert r["rise"] >= r["matrix"]  # the measurement sees the matrix itself


def test_symmetrise_in_place_equals_the_out_of_place_mean() -> None:
    """Tile pairs (uneven last tiles, the diagonal ones) give exactly ``0.5 * (A + A.T)``."""
    A = torch.randn((53, 53), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    expected = 0.5 * (A + A.T)
    for block in (1, 7, 53, 64):
        H = A.clone()
        assert _symmetrise_(H, block) is H
        assert torch.equal(H, expected)
