# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The claims ledger
#
# Three papers make claims about the weight-loss landscape of adversarial training; each claim has
# an id (docs/claims.md) that links its derivation in `theory/`, its float64 check against autograd in
# `numerics/checks/`, its data experiment, its test, and a section in notebooks 01 to 08.
#
# The central object is the adversarial logistic loss of a linear classifier, with
# $\zeta(t) = \log(1 + e^{t})$ and the inner maximum over an $L_p$ ball of radius $\varepsilon$
# (INNER-MAX), where $q$ is the dual exponent, $1/p + 1/q = 1$:
#
# $$\max_{\|\eta\|_p \le \varepsilon} \ell(w; x + \eta, y)
#   = \zeta\!\left(-y\, w^\top x + \varepsilon \|w\|_q\right).$$
#
# The verdicts below are computed when this notebook runs, by `numerics.ledger.build_ledger`: no
# verdict is written down anywhere.

# %% tags=["parameters"]
# Parameters: the profile sets every size (ci: minutes on 2 CPU cores; full: the papers' scale).
# `advlandscape report --profile full` and nbval (always ci) set it through ADVLANDSCAPE_PROFILE.
from numerics.profiles import current_profile

PROFILE = current_profile()
print(f"profile: {PROFILE}")

# %%
from IPython.display import HTML, display

from numerics.ledger import Verdict, build_ledger
from numerics.report import ledger_html, ledger_summary_html, verdict_counts
from theory.claims import CLAIMS

# %% [markdown]
# The claim ids, in the order of docs/claims.md (an exact output: nbval compares it).

# %%
# NBVAL_CHECK_OUTPUT
print(", ".join(claim.id for claim in CLAIMS))

# %% [markdown]
# ## The ledger, computed now
#
# Each claim's symbolic and numeric checks run here, and its data check judges the committed
# results of its experiment (`results/`, with provenance). A data check whose results file is
# absent counts for nothing (verdict *not verified*); a check that crashes is a failure, shown
# with its message. Open a row for its evidence, proof steps, figures and
# numbers.

# %%
rows = build_ledger(include_data=True)
display(HTML(ledger_summary_html(rows, profile=PROFILE) + ledger_html(rows)))

# %%
print(verdict_counts(rows))

# %% [markdown]
# Every claim of docs/claims.md has a row, every verdict was computed from evidence, and no check crashed
# (a crash is a defect of the suite, not a verdict on a claim).

# %%
assert [r.claim.id for r in rows] == [c.id for c in CLAIMS]
assert all(r.verdict == Verdict(r.verdict.value) for r in rows)
crashed = [(r.claim.id, e.summary) for r in rows for e in r.evidence
           if e.summary.startswith("check crashed")]
assert not crashed, crashed
