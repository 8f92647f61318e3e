import json

import numpy as np
import pytest

from mlcore.readers import read_recording
from mlcore.readings.features import CLASSES
from mlcore.recordings.baseline import BaselineError
from mlcore.recordings.bundle import BUNDLE_FILE, BundleError
from mlcore.recordings.channel_sets import CHANNEL_SETS, best_channel_set
from mlcore.recordings.drift import drift_findings
from mlcore.recordings.recording import RecordingError
from mlcore.recordings.scorer import RecordingScorer
from mlcore.recordings.windows import FEATURE_NAMES
from mlcore.tests.recording_files import drive_slice, write_csv, write_e4_zip, write_edf


@pytest.fixture(scope="module")
def drive06_csv(tmp_path_factory, drive06):
    folder = tmp_path_factory.mktemp("drive06")
    return write_csv(folder / "drive06.csv", drive_slice(drive06, 0.0, 1800.0))


@pytest.fixture(scope="module")
def prepared(scorer, drive06_csv):
    return scorer.prepare(read_recording(drive06_csv))


def test_it_picks_the_best_channel_set_a_recording_has():
    assert best_channel_set({"hr", "ecg", "gsr", "resp", "emg"}) == "all"
    assert best_channel_set({"hr", "gsr"}) == "hr_gsr"
    assert best_channel_set({"gsr", "emg"}) == "gsr"
    assert best_channel_set({"emg"}) is None
    # Measured accuracies rank the usable sets.
    assert best_channel_set({"hr", "gsr", "resp"}, {"hr_gsr_resp": 0.7, "hr_gsr": 0.8}) == (
        "hr_gsr"
    )


def test_the_bundle_holds_every_channel_set_calibrated_and_not(scorer, recording_bundle):
    keys = set(scorer.models)
    for name in ("all", "hr_gsr_resp", "hr", "gsr"):
        assert {f"{name}/calibrated", f"{name}/population"} <= keys
    card = json.loads((recording_bundle.model_path.parent / "card.json").read_text())
    section = card["recording_models"]
    assert section["file"]["name"] == BUNDLE_FILE
    assert set(section["models"]) == keys
    assert "baseline" in " ".join(section["limitations"])
    assert card["version"] == scorer.version


def test_it_scores_a_recording_uncalibrated_and_says_so(scorer, prepared):
    result = scorer.score(prepared)
    assert result.channel_set == "all" and not result.calibrated
    assert "Uncalibrated" in result.notes[0]
    assert result.model_version == scorer.version
    assert len(result.windows) == int((1800 - scorer.window_s) // scorer.stride_s) + 1
    window = result.windows[0]
    assert window.end_s - window.start_s == pytest.approx(scorer.window_s, abs=0.1)
    assert set(window.probabilities) == set(CLASSES)
    assert sum(window.probabilities.values()) == pytest.approx(1.0)
    assert window.confidence == max(window.probabilities.values())
    assert window.contributions and "description" in window.contributions[0]
    assert sum(result.time_in_level().values()) == pytest.approx(
        len(result.windows) * scorer.stride_s
    )


def test_it_scores_against_a_baseline(scorer, prepared):
    baseline = scorer.baseline_from_recording(prepared, 90.0, 270.0)
    result = scorer.score(prepared, baseline=baseline)
    assert result.calibrated and result.model_key == "all/calibrated"
    assert not result.notes
    assert result.windows[0].in_baseline and not result.windows[-1].in_baseline
    assert result.to_dict()["baseline"]["start_s"] == 90.0
    with pytest.raises(BaselineError):
        scorer.baseline_from_recording(prepared, 0.0, 60.0)


def test_it_scores_the_same_recording_read_from_edf_the_same_way(
    scorer, prepared, drive06, tmp_path
):
    edf = scorer.prepare(
        read_recording(write_edf(tmp_path / "d.edf", drive_slice(drive06, 0.0, 1800.0)))
    )
    a = scorer.score(prepared)
    b = scorer.score(edf)
    agree = np.mean([x.level == y.level for x, y in zip(a.windows, b.windows, strict=True)])
    assert agree >= 0.95


def test_it_scores_a_wrist_band_with_its_own_channel_set(scorer, drive06, tmp_path):
    rows = drive_slice(drive06, 0.0, 1200.0)
    recording = read_recording(write_e4_zip(tmp_path / "e4.zip", rows))
    prepared = scorer.prepare(recording)
    calibrated = scorer.score(prepared, baseline=scorer.baseline_from_recording(prepared, 0, 180))
    assert calibrated.channel_set == "hr_gsr"
    assert calibrated.roles == CHANNEL_SETS["hr_gsr"]
    # Its skin conductance is in µS, the training data's in mV: without a rest baseline the
    # population model cannot use it, and says so.
    population = scorer.score(prepared)
    assert population.channel_set == "hr" and not population.calibrated
    assert any("Skin conductance is in uS" in note for note in population.notes)


def test_it_refuses_a_recording_shorter_than_a_window(scorer, drive06, tmp_path):
    path = write_csv(tmp_path / "short.csv", drive_slice(drive06, 0.0, 90.0))
    with pytest.raises(RecordingError) as caught:
        scorer.prepare(read_recording(path))
    assert caught.value.code == "too_short"


def test_it_finds_nothing_odd_in_drivedb_and_says_when_units_differ(scorer, prepared):
    assert scorer.drift(prepared) == []
    ranges = scorer.training_ranges
    values = np.full((10, len(FEATURE_NAMES)), np.nan)
    values[:, FEATURE_NAMES.index("scl_mean")] = 5 * ranges["scl_mean"]["median"]
    values[:, FEATURE_NAMES.index("hr_mean")] = ranges["hr_mean"]["median"]
    findings = drift_findings(values, ranges)
    assert [f.feature for f in findings] == ["scl_mean"]
    assert "skin conductance is 5 times the training range" in findings[0].message


def test_it_refuses_a_tampered_bundle(recording_bundle, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(recording_bundle.model_path.parent, folder)
    bundle = folder / BUNDLE_FILE
    bundle.write_bytes(bundle.read_bytes() + b"\0")
    with pytest.raises(BundleError, match="checksum"):
        RecordingScorer.load(folder)
    with pytest.raises(BundleError):
        RecordingScorer.load(tmp_path)


def test_a_bundle_keeps_compiled_models_and_its_estimators_beside_them(recording_bundle, tmp_path):
    import shutil

    from mlcore.recordings.bundle import ESTIMATORS_FILE, FIVE_NUMBER_ESTIMATOR, bundle_read

    folder = recording_bundle.model_path.parent
    payload = bundle_read(folder)
    assert payload["format"] == 2
    assert all(s.estimator is None and s.compiled is not None for s in payload["models"].values())
    scorer = RecordingScorer.load(folder)
    x = np.random.default_rng(3).normal(size=(40, scorer.compiled("all/calibrated").n_features))
    np.testing.assert_allclose(
        scorer.compiled("all/calibrated").predict_proba_uncalibrated(x),
        scorer.estimator("all/calibrated").predict_proba(x),
        atol=1e-12,
    )
    assert scorer.estimator(FIVE_NUMBER_ESTIMATOR) is scorer.five_number_model().estimator
    # A changed estimators' file is refused; scoring does not need it.
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / ESTIMATORS_FILE).write_bytes((copy / ESTIMATORS_FILE).read_bytes() + b"\0")
    tampered = RecordingScorer.load(copy)
    assert tampered.compiled("all/calibrated").predict_proba(x).shape == (40, 3)
    with pytest.raises(BundleError, match="checksum"):
        tampered.estimator("all/calibrated")


def test_taking_a_recording_in_imports_no_scikit_learn(recording_bundle, tmp_path):
    """What a web process does with an upload (read it, plan its scoring) needs no
    scikit-learn; scoring it does, through NeuroKit2's skin-conductance and breathing code."""
    import subprocess
    import sys
    from pathlib import Path

    from mlcore import drivedb
    from mlcore.drive_files import drive_slice, write_edf

    edf = write_edf(tmp_path / "part.edf", drive_slice(drivedb.load_drive("drive06"), 0, 900))
    code = (
        "import sys\n"
        "from mlcore.readers import read_recording\n"
        "from mlcore.recordings.scorer import RecordingScorer\n"
        f"scorer = RecordingScorer.load({str(recording_bundle.model_path.parent)!r})\n"
        f"recording = read_recording({str(edf)!r})\n"
        "plan = scorer.scoring_plan(recording.roles)\n"
        "assert plan.population_set and plan.calibrated_set, plan\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'pandas'}))"
        " or 'none')\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "none"


def test_a_held_out_drive_scored_from_files_agrees_with_its_lodo_figure(tmp_path, drive06):
    """The service path (file -> reader -> baseline -> scorer) is the evaluated path: a model
    trained without drive06 scores drive06's CSV exactly as leave-one-drive-out did."""
    from mlcore.holdout_check import agreement
    from mlcore.recordings.dataset import drive_windows, load_drive_data
    from mlcore.recordings.spec import make_spec
    from mlcore.recordings.train import QUICK, leave_one_drive_out
    from mlcore.tests.recording_files import write_edf
    from mlcore.train import train_and_save

    names = ["drive05", "drive06", "drive07"]
    windows = [
        drive_windows(load_drive_data(n), QUICK.window_s, QUICK.stride_s, context_s=QUICK.context_s)
        for n in names
    ]
    spec = make_spec("all", True, QUICK.mode, QUICK.absolute, context_s=QUICK.context_s)
    lodo = leave_one_drive_out(spec, windows, QUICK)["per_drive"]["drive06"]
    bundle = train_and_save(tmp_path / "m", quick=True, hold_out="drive06", drive_names=names)
    scorer = RecordingScorer.load(bundle.model_path.parent)
    rows = drive_slice(drive06, 0.0, 1e9)
    from_csv = agreement(scorer, write_csv(tmp_path / "drive06.csv", rows), drive06)
    from_edf = agreement(scorer, write_edf(tmp_path / "drive06.edf", rows), drive06)
    assert from_csv.windows == lodo["windows"]
    assert from_csv.accuracy == pytest.approx(lodo["accuracy"], abs=1e-4)
    assert from_edf.accuracy == pytest.approx(lodo["accuracy"], abs=0.05)


def test_it_scores_with_a_baseline_from_another_recording_by_their_shared_channels(
    scorer, prepared, drive06, tmp_path
):
    wrist = scorer.prepare(
        read_recording(write_e4_zip(tmp_path / "e4.zip", drive_slice(drive06, 0.0, 1200.0)))
    )
    baseline = scorer.baseline_from_recording(wrist, 0.0, 180.0)
    result = scorer.score(prepared, baseline=baseline)  # all channels, a wrist-band baseline
    assert result.calibrated and set(result.roles) <= {"hr", "gsr"}
    with pytest.raises(ValueError, match="needs"):
        scorer.score(prepared, baseline=baseline, channel_set="all")


def test_hr_from_ecg_counts_as_hr_in_the_one_scoring_decision(scorer):
    from mlcore.recordings.signals import roles_after_derivation

    # A chest strap's file: raw ECG (and breathing), no HR channel.
    assert roles_after_derivation({"ecg": 250.0}) == {"ecg", "hr"}
    assert roles_after_derivation({"ecg": 15.5, "resp": 15.5}) == {"ecg", "resp"}  # too slow
    assert roles_after_derivation({"hr": 1.0, "ecg": 250.0}) == {"hr", "ecg"}
    plan = scorer.scoring_plan(roles_after_derivation({"ecg": 250.0, "resp": 25.0}))
    assert plan.population_set is not None and "hr" in CHANNEL_SETS[plan.population_set]
    assert plan.calibrated_set is not None and "hr" in CHANNEL_SETS[plan.calibrated_set]
    assert scorer.scoring_plan({"ecg"}).population_set is None


def tempered_payload(recording_bundle, temperature):
    from mlcore.recordings.bundle import bundle_read

    payload = bundle_read(recording_bundle.model_path.parent)
    for spec in payload["models"].values():
        spec.temperature = temperature
    payload["five_number_calibrated"]["temperature"] = temperature
    return payload


def test_the_scorer_answers_with_the_models_temperature(recording_bundle, prepared):
    """Every probability a window carries is the model's raw probability tempered:
    softmax(log(p) / T), with the same levels."""
    from mlcore.calibration import temper

    folder = recording_bundle.model_path.parent
    plain = RecordingScorer(tempered_payload(recording_bundle, 1.0), folder)
    tempered = RecordingScorer(tempered_payload(recording_bundle, 2.5), folder)
    baseline = plain.baseline_from_recording(prepared, 90.0, 270.0)
    for given in (None, baseline):
        a = plain.score(prepared, baseline=given)
        b = tempered.score(prepared, baseline=given)
        spec = tempered.models[b.model_key]
        assert spec.temperature == 2.5
        table = prepared.windows(tempered.window_s, tempered.stride_s)
        context = prepared.context(tempered.window_s, tempered.stride_s, spec.context_s)
        x = spec.inputs(table.values, given, context)
        raw = tempered.estimator(spec.key).predict_proba(x)  # scikit-learn's, untempered
        by_start = {float(s): i for i, s in enumerate(table.start_s)}
        assert [w.level for w in a.windows] == [w.level for w in b.windows]
        for window, untempered in zip(b.windows, a.windows, strict=True):
            row = raw[by_start[window.start_s]]
            expected = temper(row[None, :], 2.5)[0]
            got = np.array([window.probabilities[c] for c in CLASSES])
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(
                [untempered.probabilities[c] for c in CLASSES], row, rtol=1e-9, atol=1e-12
            )
            assert window.confidence == got.max() <= untempered.confidence + 1e-12


def test_the_five_number_model_answers_with_its_temperature(recording_bundle):
    from mlcore.calibration import temper
    from mlcore.readings.five_number import calibrated_inputs, five_number_baseline

    payload = tempered_payload(recording_bundle, 2.0)
    model = RecordingScorer(payload, recording_bundle.model_path.parent).five_number_model()
    rest = np.array([[68.0, 0.3, 0.2, 0.4, 0.3]] * 6) + np.linspace(0, 0.01, 6)[:, None]
    rows = np.array([[95.0, 0.6, 0.5, 0.8, 0.6], [70.0, 0.3, 0.2, 0.45, 0.3]])
    baseline = five_number_baseline(rest)
    raw = model.estimator.predict_proba(calibrated_inputs(rows, baseline))
    np.testing.assert_allclose(model.predict_proba(rows, baseline), temper(raw, 2.0), atol=1e-12)
    # What the service calls (predictions.services.readings_score) is calibrated too.
    np.testing.assert_allclose(
        model.compiled.predict_proba(calibrated_inputs(rows, baseline)),
        temper(raw, 2.0),
        atol=1e-12,
    )


def test_a_bundle_written_before_temperatures_loads_and_answers_as_before(
    recording_bundle, prepared, tmp_path
):
    """Specs pickled without a temperature (and a five-number entry without one) read T = 1."""
    from mlcore.recordings.bundle import FIVE_NUMBER_ESTIMATOR, write_bundle

    payload = tempered_payload(recording_bundle, 1.7)
    fitted = RecordingScorer.load(recording_bundle.model_path.parent)
    for spec in payload["models"].values():
        spec.estimator = fitted.estimator(spec.key)  # what training hands write_bundle
        del spec.__dict__["temperature"]  # as pickled before the field existed
    five = payload["five_number_calibrated"]
    five["estimator"] = fitted.estimator(FIVE_NUMBER_ESTIMATOR)
    del five["temperature"]
    write_bundle(tmp_path, payload)
    old = RecordingScorer.load(tmp_path)
    assert all(spec.temperature == 1.0 for spec in old.models.values())
    assert all(old.compiled(key).temperature == 1.0 for key in old.models)
    assert old.five_number_model().temperature == 1.0
    result = old.score(prepared)
    spec = old.models[result.model_key]
    table = prepared.windows(old.window_s, old.stride_s)
    x = spec.inputs(
        table.values, None, prepared.context(old.window_s, old.stride_s, spec.context_s)
    )
    raw = old.estimator(spec.key).predict_proba(x)
    first = result.windows[0]
    index = int(np.flatnonzero(table.start_s == first.start_s)[0])
    np.testing.assert_allclose([first.probabilities[c] for c in CLASSES], raw[index], atol=1e-12)
