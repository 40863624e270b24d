r"""Stage 1: the environment (Python, torch, CUDA and cuDNN versions, the device, its memory) and
the measured matmul ceiling: the median time t of C = A B for n x n matrices gives 2 n^3 / t
FLOP/s, in bf16 and in float32 (TF32 as torch is set), beside the rate the plan assumes
(:func:`numerics.gpu.flops.fast_rate`).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["matmul_tflops", "run_environment"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_tflops(n: int, dtype: torch.dtype, device: torch.device, repeats: int) -> float:
    """Measured TFLOP/s of an n x n matmul in ``dtype`` (median of ``repeats`` after 3 warm-up
    products)."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, generator=gen, device=device).to(dtype)
    b = torch.randn(n, n, generator=gen, device=device).to(dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - start)
    times.sort()
    return 2.0 * n ** 3 / times[len(times) // 2] / 1e12


def run_environment(sizes: Mapping[str, Any], *, device: str, say: Any = print
                    ) -> dict[str, Any]:
    """Stage 1's results: versions, the device and the measured ceilings."""
    from numerics.gpu.flops import FP32_SLOWDOWN, fast_rate

    dev = torch.device(device)
    out: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__,
        "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
        "cuda_available": torch.cuda.is_available(), "device": str(dev),
        "cpu_threads": torch.get_num_threads(),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
    }
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        out.update(device_name=props.name, memory_gib=props.total_memory / 2 ** 30,
                   capability=f"{props.major}.{props.minor}",
                   multiprocessors=props.multi_processor_count)
    else:
        out.update(device_name=f"cpu ({platform.processor() or platform.machine()})")
    n, reps = sizes["matmul_n"], sizes["repeats"]
    out["matmul_n"] = n
    out["bf16_tflops"] = matmul_tflops(n, torch.bfloat16, dev, reps)
    out["fp32_tflops"] = matmul_tflops(n, torch.float32, dev, reps)
    out["plan_fast_path_tflops"] = fast_rate() / 1e12
    out["plan_fp32_tflops"] = fast_rate() / FP32_SLOWDOWN / 1e12
    out["plan_note"] = ("the plan's rates are whole-network training rates (from the published "
                        "PGD-10 epoch time), well below the matmul ceiling")
    say(f"  {out['device_name']}: bf16 matmul {out['bf16_tflops']:.3g} TFLOP/s, fp32 "
        f"{out['fp32_tflops']:.3g} TFLOP/s (n = {n})")
    return out
