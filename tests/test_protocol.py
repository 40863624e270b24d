"""Tests of the study protocol (numerics.experiments.protocol) and its registry: every study has
the same face, its unit names are the units it runs, and `execute` checks, locks, resumes and
records the same way for all of them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from numerics.cli import main
from numerics.experiments import registry
from numerics.experiments.protocol import REQUIRED, Study, execute
from numerics.experiments.units import checkpoint_path
from numerics.records import read_checkpoint, read_result
from theory.claims import CLAIMS
from theory.errors import ConfigError, ResultExistsError

#: Configs small enough to run every unit of a study in seconds (data: shared/data).
TINY = {
    "smoothness": dict(n_samples=60, radii=(1.0, 1e-3), n_directions=1, linf_steps=(1e-2, 1e-4),
                       n_coordinates=2, opt_iters=20),
    "findings": dict(eps_grid=(0.0, 0.1), n_train=60, hidden=(8,), epochs=1, batch_size=20,
                     n_hessian=20, logistic_ratios=(0.5,), logistic_n=40, logistic_steps=5,
                     pgd_steps=2),
    "pas": dict(lrs=(0.05,), epochs=1, periods=1, n_train=60, n_test=40, pgd_steps=2,
                eval_steps=2, hidden=(8,), seeds=(0,)),
    "madry_cnn": dict(n_train=60, n_test=40, n_eval=40, curve_samples=40, epochs=2,
                      ramp_epochs=0.5, fit_window=1, hessian_samples=16, apgd_steps=2),
}


def test_registry_faces() -> None:
    """Every registered study declares the whole face: a name equal to its key, known claim ids,
    a `full` scale that is the Config's defaults, an estimate for each scale, a record name."""
    known = {c.id for c in CLAIMS}
    assert len(registry.STUDIES) == len(registry.STUDY_MODULES)
    for name, study in registry.STUDIES.items():
        assert study.name == name
        assert name == name.lower()
        assert set(study.claims) <= known, (name, study.claims)
        assert study.scales["full"] == {}
        assert set(study.minutes) == set(study.scales), name
        assert all(study.result_name(s).endswith(".json") for s in study.scales)
        assert dataclasses.is_dataclass(study.config)
        assert study.config.__dataclass_params__.frozen, name


def test_every_study_config_validates_at_every_scale() -> None:
    """Each scale gives a valid config whose `profile` names the scale; a bad scale and an
    unknown field are one ConfigError each."""
    for study in registry.STUDIES.values():
        for scale in study.scales:
            assert study.config_for(scale).profile == scale
        with pytest.raises(ConfigError, match="no scale"):
            study.config_for("huge")
        with pytest.raises(ConfigError, match="config fields"):
            study.config_for("ci", no_such_field=1)


def test_evidence_registered_for_known_claims() -> None:
    """The ledger's data evidence comes from the registry, keyed by claim ids that exist."""
    by_claim = registry.evidence_by_claim()
    assert set(by_claim) <= {c.id for c in CLAIMS}
    assert {"Y-T1", "Y-T2", "K-SMOOTH", "L-BUDGET", "L-FINDINGS"} <= set(by_claim)


def test_a_module_missing_an_attribute_is_refused() -> None:
    """A study module without the whole face is refused, naming what it lacks."""
    import types

    module = types.ModuleType("half_a_study")
    module.NAME = "half"
    with pytest.raises(ConfigError, match="lacks") as info:
        Study.from_module(module)
    for attr in REQUIRED[1:]:
        assert attr in str(info.value)


def test_study_list_names_every_study(capsys: pytest.CaptureFixture[str]) -> None:
    """`advlandscape study --list` prints every study with its claims and scales."""
    assert main(["study", "--list"]) == 0
    out = capsys.readouterr().out
    for name, study in registry.STUDIES.items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        for scale in study.scales:
            assert scale in line
        for claim in study.claims:
            assert claim in line


@pytest.mark.parametrize("name", sorted(TINY))
def test_unit_names_are_the_units_run(name: str, tmp_path: Path, data_root: Path) -> None:
    """`unit_names(cfg)` lists exactly the units `run(cfg, units)` computes and checkpoints."""
    study = registry.get_study(name)
    cfg = study.config_for("ci", **TINY[name])
    with pytest.raises(KeyboardInterrupt):  # every unit computed, the record not written
        registry.run_study(name, cfg, checkpoint_dir=tmp_path,
                           stop_after=len(study.unit_names(cfg)) - 1)
    registry.run_study(name, cfg, checkpoint_dir=tmp_path)
    saved = read_checkpoint(checkpoint_path(name, tmp_path)).state["units"]
    assert list(saved) == study.unit_names(cfg)


def test_execute_resumes_bit_for_bit(tmp_path: Path, data_root: Path) -> None:
    """A run interrupted after one unit and run again writes the same results as one run
    straight through; the checkpoint goes once the record is written; an existing record is
    refused without --overwrite, before any work."""
    study = registry.get_study("findings")
    cfg = study.config_for("ci", **TINY["findings"])
    straight = execute(study, cfg, tmp_path / "a" / "findings.json", progress=False)
    record = tmp_path / "b" / "findings.json"
    with pytest.raises(KeyboardInterrupt):
        execute(study, cfg, record, progress=False, stop_after=1)
    assert (record.parent / ".findings.json.ckpt" / "findings.ckpt").is_file()
    resumed = execute(study, cfg, record, progress=False, say=lambda _: None)
    assert json.dumps(resumed, sort_keys=True) == json.dumps(straight, sort_keys=True)
    assert not (record.parent / ".findings.json.ckpt").exists()
    written = read_result(record)
    assert written["provenance"]["study"] == "findings"
    assert written["provenance"]["scale"] == "ci"
    with pytest.raises(ResultExistsError):
        execute(study, cfg, record, progress=False)


def test_a_study_with_threads_runs_on_them_and_records_them(tmp_path: Path,
                                                            data_root: Path) -> None:
    """THREADS: the study runs on that many torch threads whatever the process's setting
    (seen from inside its run), the provenance names them, and the setting is restored."""
    import torch

    study = registry.get_study("pas")
    assert study.threads == 1
    seen: list[int] = []

    def run(cfg: object, units: object) -> dict:
        seen.append(torch.get_num_threads())
        return study.run(cfg, units)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        execute(dataclasses.replace(study, run=run), study.config_for("ci", **TINY["pas"]),
                tmp_path / "pas.json", progress=False)
        assert seen == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert "1 torch threads" in read_result(tmp_path / "pas.json")["provenance"]["device"]
