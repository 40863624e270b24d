r"""A linear model's PGD as one compiled loop per (model, example), and the L-inf PGD limit in
one pass (numba).

The eager loop of :func:`numerics.linear.attack._pgd_block` passes over a block of rows four
times a step (add the step, take the row norms, scale, clamp to the box), each pass a kernel of
its own. For a linear model the PGD of one (model, example) pair needs nothing of the others:
:func:`pgd_block` runs all the steps of one pair while its row (d numbers) stays in the core's
L1 cache, one pass a step: project (scale to the ball, clamp to the box), add the next step and
sum the squares for the next projection. The exact projection onto ball cap box (BOX-PROJ, the
evaluation PGD's and the sensitivity study's ``exact-projection`` setting) is the active-set
iteration of :func:`numerics.attacks.scaled_clip` on the cached row (:func:`_ball_box_`, two or
three passes). It computes the eager loop's iterates up to rounding: the row norms are summed in
another order (1e-16 relative in float64, 1e-7 in float32), which a long training run carries
into its last digits, so a study that uses it says so in its config.

In training the attacked inputs are not kept: :func:`pgd_loss_gradient` (and
:func:`linf_limit_loss_gradient` for the L-inf limit) adds each finished row's logistic loss and
gradient to its model's sums while the row is still in the cache, so a step never writes or
reads back the ``(K, N, d)`` block. Speed-ups on one CPU thread: ``python
benchmarks/fused_pgd.py``.

numba compiles each kernel on its first call for the dtypes it meets (1-1.5 s each) and keeps
the machine code on disk (``cache=True``), so later processes load it (0.1-0.4 s).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

__all__ = ["linf_limit", "linf_limit_loss_gradient", "noise_loss_gradient", "pgd_block",
           "pgd_loss_gradient", "robust_loss_and_mean_gradient"]


Start = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None

#: the start of a PGD run: none, the L2 draws (Gaussian directions and radii), or a ready draw
_NONE, _DRAWS, _READY = 0, 1, 2


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "contract", "arcp"})
def _pgd_rows(x, xw, y, unit, factor, ew, e, mode, g, radius, steps, l2, exact, lo_b, hi_b,
              final, out, weights, loss, grad):
    """out[k, n] = x[n] + delta after ``steps`` PGD steps of model k on example n; or, with
    ``weights`` (K, p) given (out then (K, 0, 0)), not kept but summed into the loss and
    gradient of model k at them (:func:`_add_loss_gradient`).

    delta = P(delta + step_k,n), step = (-y_n unit_k) factor_k, from delta = P(s e_k) (0 without
    a start); P scales onto the ball of radius e_k (L2: by e_k / ||delta|| when ||delta|| >
    e_k; L-inf: clamps to [-e_k, e_k]), then clamps to the box [lo_b - x, hi_b - x]; with
    ``exact`` (L2) P is the Euclidean projection onto ball cap box (:func:`_ball_box_`). The steps
    run in xw's dtype; when x's differs (``final``), the last iterate is projected again in
    x's (``e``).
    s: none (``mode`` 0), g / ||g|| * radius from the L2 draws (1), or g itself (2); g and
    radius have one draw or one per model (first axis).
    """
    K, (N, d) = unit.shape[0], x.shape
    keep = out.shape[1] == N
    row = np.empty(d, dtype=x.dtype)  # x + delta, the attacked input
    c = np.empty(3, dtype=xw.dtype)  # constants in the iterations' dtype
    c[0], c[1], c[2] = 0.0, 1.0, np.finfo(xw.dtype).tiny
    zero, one, tiny = c[0], c[1], c[2]
    delta = np.empty(d, dtype=xw.dtype)
    step = np.empty(d, dtype=xw.dtype)
    lo = np.empty(d, dtype=xw.dtype)
    hi = np.empty(d, dtype=xw.dtype)
    s = np.empty(d, dtype=x.dtype)  # the start, in x's dtype
    sw = np.zeros(d, dtype=xw.dtype)  # ... and in the iterations'
    lo64 = np.empty(d, dtype=x.dtype)  # the box in x's dtype (the exact final projection)
    hi64 = np.empty(d, dtype=x.dtype)
    tiny64 = np.finfo(x.dtype).tiny
    shared = g.shape[0] == 1
    for n in range(N):
        for j in range(d):
            lo[j] = lo_b - xw[n, j]
            hi[j] = hi_b - xw[n, j]
        for k in range(K):
            ek, fk, yn = ew[k], factor[k], -y[n]
            if mode != _NONE:
                i = 0 if shared else k
                for j in range(d):
                    s[j] = g[i, n, j]
                if mode == _DRAWS:
                    glen = 0.0
                    for j in range(d):
                        glen += s[j] * s[j]
                    glen = np.sqrt(glen)
                    for j in range(d):
                        s[j] = s[j] / glen * radius[i, n]
                for j in range(d):
                    sw[j] = s[j]
            acc = zero
            for j in range(d):
                step[j] = (yn * unit[k, j]) * fk
                v = sw[j] * ek
                delta[j] = v
                acc += v * v
            for it in range(steps + 1 if exact else 0):
                _ball_box_(delta, lo, hi, ek, zero, one, tiny)
                if it < steps:
                    for j in range(d):
                        delta[j] += step[j]
            for it in range(0 if exact else steps + 1):
                scale = one
                if l2:
                    length = np.sqrt(acc)
                    if length > ek:
                        scale = ek / max(length, tiny)
                acc = zero
                for j in range(d):
                    v = delta[j]
                    if l2:
                        v = v * scale
                    else:
                        v = v if v > -ek else -ek
                        v = v if v < ek else ek
                    v = v if v > lo[j] else lo[j]
                    v = v if v < hi[j] else hi[j]
                    if it < steps:
                        v = v + step[j]
                        acc += v * v
                    delta[j] = v
            if final and exact:  # the last iterate projected again, in x's dtype
                for j in range(d):
                    s[j] = delta[j]
                    lo64[j] = lo_b - x[n, j]
                    hi64[j] = hi_b - x[n, j]
                _ball_box_(s, lo64, hi64, e[k], 0.0, 1.0, tiny64)
                for j in range(d):
                    row[j] = s[j] + x[n, j]
            elif final:  # the last iterate onto the ball and the box again, in x's dtype
                e64 = e[k]
                flen = 0.0
                for j in range(d):
                    flen += np.float64(delta[j]) * np.float64(delta[j])
                flen = np.sqrt(flen)
                fscale = e64 / flen if l2 and flen > e64 else 1.0
                for j in range(d):
                    u = np.float64(delta[j])
                    if l2:
                        u = u * fscale
                    else:
                        u = u if u > -e64 else -e64
                        u = u if u < e64 else e64
                    u = u if u > lo_b - x[n, j] else lo_b - x[n, j]
                    u = u if u < hi_b - x[n, j] else hi_b - x[n, j]
                    row[j] = u + x[n, j]
            else:
                for j in range(d):
                    row[j] = delta[j] + x[n, j]
            if keep:
                for j in range(d):
                    out[k, n, j] = row[j]
            else:
                _add_loss_gradient(row, weights, k, -yn, loss, grad)


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "contract", "arcp"})
def _zeta_s(m):
    """(zeta(-m), s(-m)) = (log(1 + e^-m), 1 / (1 + e^m)) without overflow for every m."""
    if m > 0.0:
        t = np.exp(-m)
        return np.log1p(t), t / (1.0 + t)
    t = np.exp(m)
    return np.log1p(t) - m, 1.0 / (1.0 + t)


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "contract", "arcp"})
def _add_loss_gradient(row, weights, k, yn, loss, grad):
    """Model k's logistic loss at the attacked input ``row`` (label yn) into ``loss[k]``,
    zeta(-z) with z = y (w.x + b), and its gradient -s(-z) y (x, 1) into ``grad[k]`` (the bias
    entry when ``weights`` has one column more than ``row``), unscaled: the callers divide by
    the number of examples (:func:`_zeta_s`)."""
    d = row.shape[0]
    z = 0.0
    for j in range(d):
        z += weights[k, j] * row[j]
    bias = weights.shape[1] > d
    if bias:
        z += weights[k, d]
    value, weight = _zeta_s(z * yn)
    loss[k] += value
    coef = -weight * yn
    for j in range(d):
        grad[k, j] += coef * row[j]
    if bias:
        grad[k, d] += coef


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "contract", "arcp"})
def _ball_box_(v, lo, hi, eps, zero, one, tiny):
    """In place: v onto {||v||_2 <= eps} cap {lo <= v <= hi} (lo <= 0 <= hi), BOX-PROJ, as
    :func:`numerics.attacks.scaled_clip` computes it: clip(s v, lo, hi) with s in (0, 1] the
    largest keeping the norm <= eps, found by the monotone active-set iteration (from
    s = eps / ||v||: coordinates with s |v_j| < |b_j| free, the others at their bound b_j;
    s <- sqrt((eps^2 - C) / R), R the free part of sum v_j^2, C the clipped sum b_j^2), run
    until it stops moving: the free set only shrinks, so that takes at most d + 1 passes."""
    d = v.shape[0]
    length = zero
    for j in range(d):
        length += v[j] * v[j]
    length = np.sqrt(length)
    s = eps / length if length > zero else one
    s = s if s < one else one
    eps2 = eps * eps
    while True:
        free, clipped, s2 = zero, zero, s * s
        for j in range(d):  # selects, not branches: the pass vectorises
            a = v[j]
            b = hi[j] if a > zero else lo[j]
            a2, b2 = a * a, b * b
            inside = s2 * a2 < b2
            free += a2 if inside else zero
            clipped += zero if inside else b2
        t = one
        if free > zero:
            t = (eps2 - clipped) / free
            t = np.sqrt(t if t > zero else zero)
            t = t if t < one else one
        if t <= s:
            break
        s = t
    length = zero
    for j in range(d):
        u = s * v[j]
        u = u if u > lo[j] else lo[j]
        u = u if u < hi[j] else hi[j]
        v[j] = u
        length += u * u
    length = np.sqrt(length)
    if length > eps:  # rounding: never leave the ball
        u = eps / (length if length > tiny else tiny)
        for j in range(d):
            v[j] *= u


@numba.njit(cache=True, nogil=True)
def _limit_rows(x, y, sign, e, lo_b, hi_b, out, weights, loss, grad):
    """out[k, n] = clip(x[n] + (-y_n sign_k) e_k, lo_b, hi_b), as the eager ops round it; or,
    with ``weights`` given (out then (K, 0, 0)), its loss and gradient summed as
    :func:`_pgd_rows` does."""
    K, (N, d) = sign.shape[0], x.shape
    keep = out.shape[1] == N
    row = np.empty(d, dtype=x.dtype)
    for k in range(K):
        for n in range(N):
            yn = -y[n]
            for j in range(d):
                v = (yn * sign[k, j]) * e[k] + x[n, j]
                row[j] = min(max(v, lo_b), hi_b)
            if keep:
                for j in range(d):
                    out[k, n, j] = row[j]
            else:
                _add_loss_gradient(row, weights, k, y[n], loss, grad)


@numba.njit(cache=True, nogil=True)
def _noise_rows(x, y, u, e, lo_b, hi_b, weights, loss, grad):
    """clip(x[n] + u[i, n] e_k, lo_b, hi_b) (i = 0 for one shared draw, else k), as the eager
    ops round it, summed into model k's loss and gradient as :func:`_pgd_rows` does."""
    K, (N, d) = weights.shape[0], x.shape
    shared = u.shape[0] == 1
    row = np.empty(d, dtype=x.dtype)
    for n in range(N):
        for k in range(K):
            i = 0 if shared else k
            for j in range(d):
                v = u[i, n, j] * e[k] + x[n, j]
                row[j] = min(max(v, lo_b), hi_b)
            _add_loss_gradient(row, weights, k, y[n], loss, grad)


#: rows of x read together by :func:`_robust_rows` (each weight and gradient row is then read
#: once per block, not once per row)
_BLOCK = 8


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "contract", "arcp"})
def _robust_rows(x, y, wf, b, offset, loss, weight, data, bias_sum):
    """For each example n and model k, the robust margin m = y_n (w_k.x_n + b_k) - offset_k:
    loss[k, n] = zeta(-m), and s(-m) summed into weight[k], s(-m) (-y_n) into bias_sum[k] and
    s(-m) (-y_n) x_n into data[k]. One pass over x, in blocks of :data:`_BLOCK` rows: per
    model, the block's scores in one sweep of w_k, then its gradient terms in one sweep of
    data[k]."""
    K, (N, d) = wf.shape[0], x.shape
    z = np.empty(_BLOCK)
    c = np.empty(_BLOCK)
    for n0 in range(0, N, _BLOCK):
        m = min(_BLOCK, N - n0)
        xs = x[n0:n0 + m]
        for k in range(K):
            wk = wf[k]
            if m == _BLOCK:  # eight sums in one sweep of w_k
                s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
                for j in range(d):
                    wj = wk[j]
                    s0 += wj * xs[0, j]
                    s1 += wj * xs[1, j]
                    s2 += wj * xs[2, j]
                    s3 += wj * xs[3, j]
                    s4 += wj * xs[4, j]
                    s5 += wj * xs[5, j]
                    s6 += wj * xs[6, j]
                    s7 += wj * xs[7, j]
                z[0], z[1], z[2], z[3] = s0, s1, s2, s3
                z[4], z[5], z[6], z[7] = s4, s5, s6, s7
            else:
                for r in range(m):
                    sr = 0.0
                    for j in range(d):
                        sr += wk[j] * xs[r, j]
                    z[r] = sr
            for r in range(m):
                yn = y[n0 + r]
                loss[k, n0 + r], sg = _zeta_s(yn * (z[r] + b[k]) - offset[k])
                weight[k] += sg
                c[r] = -sg * yn
                bias_sum[k] += c[r]
            dk = data[k]
            if m == _BLOCK:
                c0, c1, c2, c3, c4, c5, c6, c7 = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
                for j in range(d):
                    dk[j] += (c0 * xs[0, j] + c1 * xs[1, j] + c2 * xs[2, j] + c3 * xs[3, j]
                              + c4 * xs[4, j] + c5 * xs[5, j] + c6 * xs[6, j] + c7 * xs[7, j])
            else:
                for r in range(m):
                    cr = c[r]
                    for j in range(d):
                        dk[j] += cr * xs[r, j]


def _array(t: torch.Tensor, dtype: torch.dtype | None = None) -> np.ndarray:
    """A contiguous CPU numpy view (a copy when the dtype or layout asks for one)."""
    return t.detach().to("cpu", dtype or t.dtype).contiguous().numpy()


LossGradient = tuple[torch.Tensor, torch.Tensor]


def _sums(weights: torch.Tensor | None, K: int, N: int, d: int,
          dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kernels' outputs: the attacked inputs (K, N, d), or (without them) the weights
    and the loss and gradient sums they fill."""
    if weights is None:
        return (np.empty((K, N, d), dtype=dtype), np.zeros((1, d), dtype),
                np.zeros(1, dtype), np.zeros((1, d), dtype))
    w = _array(weights, torch.float64 if dtype == np.float64 else torch.float32)
    return (np.empty((K, 0, 0), dtype=dtype), w, np.zeros(K, dtype),
            np.zeros(w.shape, dtype))


def _result(out: tuple[np.ndarray, ...], weights: torch.Tensor | None, N: int,
            device: torch.device) -> torch.Tensor | LossGradient:
    if weights is None:
        return torch.from_numpy(out[0]).to(device)
    return torch.from_numpy(out[2] / N).to(device), torch.from_numpy(out[3] / N).to(device)


def _pgd(x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor, factor: torch.Tensor,
         e: torch.Tensor, start: Start, steps: int, norm: str,
         box: tuple[float, float] | None, work: torch.dtype | None, projection: str,
         weights: torch.Tensor | None) -> torch.Tensor | LossGradient:
    work = x.dtype if work is None else work
    K, N, d = unit.shape[0], x.shape[1], x.shape[2]
    xs = _array(x[0])
    mode, g, radius = _NONE, np.zeros((1, 1, 1), dtype=xs.dtype), np.zeros((1, 1), xs.dtype)
    if isinstance(start, tuple):
        mode, g, radius = _DRAWS, _array(start[0]), _array(start[1][..., 0], x.dtype)
    elif start is not None:
        mode, g = _READY, _array(start, x.dtype)
    lo, hi = (-np.inf, np.inf) if box is None else (float(box[0]), float(box[1]))
    out = _sums(weights, K, N, d, xs.dtype)
    _pgd_rows(xs, _array(x[0], work), _array(y, work), _array(unit, work),
              _array(factor.reshape(-1), work), _array(e.reshape(-1), work),
              _array(e.reshape(-1), x.dtype), mode, g, radius, steps, norm == "l2",
              norm == "l2" and box is not None and projection == "exact", lo, hi,
              work != x.dtype, *out)
    return _result(out, weights, N, x.device)


def pgd_block(x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor, factor: torch.Tensor,
              e: torch.Tensor, start: Start, steps: int, norm: str,
              box: tuple[float, float] | None, work: torch.dtype | None = None,
              projection: str = "ball_then_box") -> torch.Tensor:
    """PGD with projection onto the ball then the box (``projection="exact"``: onto ball cap
    box, L2 in a box): the perturbed inputs x + delta ``(K, N, d)`` in x's dtype, iterating
    in ``work`` (default x's dtype).

    Shapes: x ``(1, N, d)``, y ``(N,)``, unit ``(K, d)`` (w/||w||, or sign(w)), factor and e
    ``(K, 1, 1)`` (the step alpha_k and the budget eps_k); ``unit`` and ``factor`` in ``work``;
    start ``(1 or K, N, d)`` in the unit ball, or the L2 draws of
    :func:`numerics.attacks.l2_ball_draws` (Gaussians ``(1 or K, N, d)`` in their own dtype,
    float32 for float64 data, radii ``(1 or K, N, 1)``), scaled as
    :func:`~numerics.attacks.uniform_ball_noise` does; None: start at 0. A zero budget leaves x
    as it is.
    """
    return _pgd(x, y, unit, factor, e, start, steps, norm, box, work, projection, None)


def pgd_loss_gradient(weights: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                      unit: torch.Tensor, factor: torch.Tensor, e: torch.Tensor, start: Start,
                      steps: int, norm: str, box: tuple[float, float] | None,
                      work: torch.dtype | None = None,
                      projection: str = "ball_then_box") -> LossGradient:
    """:func:`pgd_block`'s attack, and at its inputs x~ the mean logistic loss
    (1/N) sum_n zeta(-z_kn), z_kn = y_n (w_k.x~_kn + b_k), and its gradient
    -(1/N) sum_n s(-z_kn) y_n (x~_kn, 1) with x~ held fixed (Danskin), ``(K,)`` and ``(K, p)``,
    p = d + 1 when ``weights`` ``(K, p)`` has a bias column. The attacked inputs are summed as
    they are made, never stored: :func:`numerics.linear.train.loss_gradient` of
    :func:`pgd_block`'s output, up to rounding (the sums run in another order)."""
    return _pgd(x, y, unit, factor, e, start, steps, norm, box, work, projection, weights)


def _limit(x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor, e: torch.Tensor,
           box: tuple[float, float] | None,
           weights: torch.Tensor | None) -> torch.Tensor | LossGradient:
    K, N, d = unit.shape[0], x.shape[1], x.shape[2]
    lo, hi = (-np.inf, np.inf) if box is None else (float(box[0]), float(box[1]))
    out = _sums(weights, K, N, d, _array(x[0, :1]).dtype)
    _limit_rows(_array(x[0]), _array(y, x.dtype), _array(unit, x.dtype),
                _array(e.reshape(-1), x.dtype), lo, hi, *out)
    return _result(out, weights, N, x.device)


def linf_limit(x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor, e: torch.Tensor,
               box: tuple[float, float] | None) -> torch.Tensor:
    """The L-inf PGD limit clip_box(x - e y sign(w)) in one pass, ``(K, N, d)``: x
    ``(1, N, d)``, y ``(N,)``, unit = sign(w) ``(K, d)``, e ``(K, 1, 1)``, all in x's dtype."""
    return _limit(x, y, unit, e, box, None)


def linf_limit_loss_gradient(weights: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                             unit: torch.Tensor, e: torch.Tensor,
                             box: tuple[float, float] | None) -> LossGradient:
    """:func:`linf_limit`'s inputs summed into the loss and gradient as
    :func:`pgd_loss_gradient` does, never stored."""
    return _limit(x, y, unit, e, box, weights)


def noise_loss_gradient(weights: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                        noise: torch.Tensor, e: torch.Tensor,
                        box: tuple[float, float] | None) -> LossGradient:
    """The loss and gradient of :func:`pgd_loss_gradient` at the noisy inputs
    clip_box(x + e_k u) of random-noise training, never stored: x ``(1, N, d)``, noise u in
    the unit ball ``(1 or K, N, d)``, e ``(K, 1, 1)``, all in x's dtype."""
    K, N, d = weights.shape[0], x.shape[1], x.shape[2]
    lo, hi = (-np.inf, np.inf) if box is None else (float(box[0]), float(box[1]))
    out = _sums(weights, K, N, d, _array(x[0, :1]).dtype)
    _noise_rows(_array(x[0]), _array(y, x.dtype), _array(noise, x.dtype),
                _array(e.reshape(-1), x.dtype), lo, hi, *out[1:])
    return _result(out, weights, N, x.device)


def robust_loss_and_mean_gradient(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                                  eps: float | torch.Tensor,
                                  norm: str = "l2") -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`numerics.ops.robust_loss_and_mean_gradient` of K models ``w`` ``(K, p)`` (p = d + 1:
    a bias) on shared inputs ``x`` ``(N, d)`` in one blocked pass over x (that function makes
    two matrix products, torch's slower on such short-and-wide shapes: the budget study's
    CIFAR2 step 60 to 35 ms), the same numbers up to rounding: the robust loss zeta(-m) per
    point ``(K, N)``, m = y (w.x + b) - eps ||w_f||_q (INNER-MAX), and the mean gradient
    (1/N) sum_n s(-m_n) (-y_n (x_n, 1) + eps grad ||w_f||_q) ``(K, p)`` (at w_f = 0 the norm's
    subgradient 0)."""
    from numerics.ops import norm_gradient

    K, (N, d) = w.shape[0], x.shape
    bias = w.shape[1] == d + 1
    e = torch.as_tensor(eps, dtype=x.dtype, device=w.device).reshape(-1).expand(K)
    g, length = norm_gradient(w, norm, bias, subgradient=True)
    dtype = _array(x[:1]).dtype
    loss, weight = np.empty((K, N), dtype), np.zeros(K, dtype)
    data, bias_sum = np.zeros((K, d), dtype), np.zeros(K, dtype)
    b = _array(w[:, d]) if bias else np.zeros(K, dtype)
    _robust_rows(_array(x), _array(y, x.dtype), _array(w[:, :d]), b, _array(e * length),
                 loss, weight, data, bias_sum)
    grad = torch.from_numpy(data / N)
    if bias:
        grad = torch.cat([grad, torch.from_numpy(bias_sum / N)[:, None]], dim=1)
    grad = grad.to(w.device) + (e * torch.from_numpy(weight / N).to(w.device))[:, None] * g
    return torch.from_numpy(loss).to(w.device), grad
