"""The model card, as JSON (for machines and the registry) and Markdown (for people)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from mlcore.calibration import ECE_TARGET
from mlcore.readings.features import CLASSES, FEATURES
from mlcore.recordings.channel_sets import CHANNEL_SETS
from mlcore.recordings.personal import personalisation_read
from mlcore.recordings.select import SELECTION_FILE
from mlcore.recordings.train import ORDER_TOLERANCE, order_check

# The prose lives in a data file beside this one, so wording changes touch no code. TRIED:
# toward the 0.90 goal (all channels, calibrated, leave-one-drive-out), what was tried and
# what it gave (accuracy / macro-F1 / medium recall), measured while building issue 11.
_TEXT = tomllib.loads(Path(__file__).with_name("card_text.toml").read_text())
LICENCE: str = _TEXT["licence"]
REFERENCE: dict[str, Any] = _TEXT["reference"]
LIMITATIONS: list[str] = _TEXT["limitations"]
BASELINE_RULE: str = _TEXT["baseline_rule"]
RECORDING_LIMITATIONS: list[str] = _TEXT["recording_limitations"]
DRIFT_RULE: str = _TEXT["drift_rule"]
ESTIMATOR_CHOICE: str = _TEXT["estimator_choice"]
SELECTION_RULE: str = _TEXT["selection_rule"]
TRIED: list[str] = _TEXT["tried"]
CALIBRATION_RULE: str = _TEXT["calibration_rule"]
ORDER_CHECK_RULE: str = _TEXT["order_check_rule"]


def _table(rows: list[list[str]]) -> str:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def render_markdown(card: dict[str, Any]) -> str:
    lodo = card["metrics"]["leave_one_drive_out"]
    baseline = lodo["majority_baseline"]
    optimistic = card["metrics"].get("stratified_cv_optimistic")
    mapping = card["feature_mapping"]
    out = [
        f"# Model card: {card['version']}",
        "",
        f"Random forest predicting stress (low / medium / high) from five physiological "
        f"features. Trained {card['trained_at']} in {card['training_seconds']} s.",
        "",
        "## Quality (leave-one-drive-out, every drive held out once)",
        "",
        _table(
            [
                ["", "accuracy", "macro-F1"],
                ["this model", f"{lodo['accuracy']:.3f}", f"{lodo['macro_f1']:.3f}"],
                [
                    "reference (SOURCE.md)",
                    f"{REFERENCE['accuracy']:.2f}",
                    f"{REFERENCE['macro_f1']:.2f}",
                ],
                [
                    "majority class",
                    f"{baseline['accuracy']:.3f}",
                    f"{baseline['macro_f1']:.3f}",
                ],
            ]
        ),
        "",
        f"Per-drive accuracy ranges from {lodo['per_drive_accuracy_range'][0]:.2f} to "
        f"{lodo['per_drive_accuracy_range'][1]:.2f}.",
        "",
        *_confidence_lines(lodo, card["metrics"].get("reordered")),
        _table(
            [["class", "precision", "recall", "F1", "windows"]]
            + [
                [
                    name,
                    f"{m['precision']:.3f}",
                    f"{m['recall']:.3f}",
                    f"{m['f1']:.3f}",
                    str(m["support"]),
                ]
                for name, m in lodo["per_class"].items()
            ]
        ),
        "",
        "Confusion matrix (rows: true class, columns: predicted):",
        "",
        _table(
            [["", *CLASSES]]
            + [
                [CLASSES[i], *[str(v) for v in row]]
                for i, row in enumerate(lodo["confusion_matrix"]["matrix"])
            ]
        ),
        "",
        _table(
            [["drive", "windows", "accuracy"]]
            + [
                [name, str(d["windows"]), f"{d['accuracy']:.3f}"]
                for name, d in lodo["per_drive"].items()
            ]
        ),
        "",
    ]
    if card.get("checks", {}).get("models"):
        out += [
            "Targets, every shipped model (this forest, the calibrated five-number model and "
            "the recording models below), leave-one-drive-out:",
            "",
            *[f"- {line}" for line in checks_text(card["checks"])],
            "",
        ]
    if optimistic:
        out += [
            f"Random stratified {optimistic['folds']}-fold CV, **optimistic** (neighbouring "
            f"windows of one drive land on both sides): accuracy {optimistic['accuracy']:.3f}, "
            f"macro-F1 {optimistic['macro_f1']:.3f}. Not a measure of quality on new people.",
            "",
        ]
    out += [
        "## Inputs and how to compute them",
        "",
        f"Each reading summarises a {mapping['window_seconds']:.0f} s window of raw signals. "
        "Compute the raw statistic, then map it: "
        f"`{mapping['formula']}`.",
        "",
        _table(
            [["feature", "unit", "range", "raw statistic", "low", "high"]]
            + [
                [
                    f.name,
                    f.unit,
                    f"{f.minimum:g}-{f.maximum:g}",
                    ch["statistic"],
                    f"{ch['low']:.4f}",
                    f"{ch['high']:.4f}",
                ]
                for f, ch in zip(FEATURES, mapping["channels"], strict=True)
            ]
        ),
        "",
        "Raw statistics: `hr_mean_bpm` mean heart rate (values outside 30-220 bpm dropped); "
        "`ecg_std_mv` standard deviation of the ECG (mV); `emg_mean_mv` mean EMG (mV); "
        "`hand_gsr_mean_mv` mean hand GSR sensor voltage (mV); `resp_std_mv` standard deviation "
        "of the chest-belt respiration signal (mV), i.e. breathing amplitude.",
        "",
        "## Training data",
        "",
        f"{card['data']['windows']} windows from {len(card['data']['drives'])} drives "
        f"(class counts {card['data']['class_counts']}). Segment boundaries are aligned to each "
        "drive's marker channel; windows within "
        f"{card['data']['margin_seconds']:.0f} s of a boundary are dropped.",
        "",
        _table(
            [["file", "sha256"]] + [[f["path"], f"`{f['sha256']}`"] for f in card["data"]["files"]]
        ),
        "",
        f"Licence: {card['data']['licence']}",
        "",
        "## Parameters and environment",
        "",
        _table([["parameter", "value"]] + [[k, str(v)] for k, v in card["parameters"].items()]),
        "",
        _table([["library", "version"]] + [[k, v] for k, v in card["libraries"].items()]),
        "",
        "## Why these choices",
        "",
        card["choices"],
        "",
        "## Limitations",
        "",
        *[f"- {item}" for item in card["limitations"]],
        "",
    ]
    return "\n".join(out) + render_recording_markdown(card)


def _floor_words(lodo: dict[str, Any]) -> str:
    floor = lodo.get("ece_sampling_floor")
    if not floor:
        return ""
    return (
        f" A perfectly calibrated model with these confidences would show {floor['mean']:.3f}"
        f" (95th percentile {floor['p95']:.3f}) from sampling alone, on independent windows."
    )


def _confidence_lines(lodo: dict[str, Any], reordered: dict[str, float] | None) -> list[str]:
    """The calibration and order-check sentences of one model, and its reliability table."""
    out = []
    if "temperature" in lodo:
        out += [
            f"Confidence: temperature {lodo['temperature']:.2f} fitted on the out-of-fold "
            f"probabilities; expected calibration error {lodo['ece_raw']:.3f} before, "
            f"{lodo['ece']:.3f} after ({lodo.get('ece_temperature_held_out', float('nan')):.3f}"
            " with each drive tempered by a temperature fitted on the other drives)."
            + _floor_words(lodo),
            "",
            _table(
                [["confidence", "windows", "mean confidence", "accuracy"]]
                + [
                    [
                        f"{row['bin'][0]:.1f}-{row['bin'][1]:.1f}",
                        str(row["count"]),
                        f"{row['mean_confidence']:.3f}",
                        f"{row['accuracy']:.3f}",
                    ]
                    for row in lodo["reliability"]
                ]
            ),
            "",
        ]
    if reordered:
        out += [
            "Reordered (the held-out drives' segments spliced into orders A and B): accuracy "
            + ", ".join(f"{name} {value:.3f}" for name, value in reordered.items())
            + f" (original order {lodo['accuracy']:.3f}).",
            "",
        ]
    return out


def _split_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    if not metrics:
        return {}
    out: dict[str, Any] = {
        "leave_one_drive_out": {k: v for k, v in metrics.items() if k != "reordered"}
    }
    if "reordered" in metrics:
        out["reordered"] = metrics["reordered"]
    return out


def order_check_failures(section: dict[str, Any]) -> dict[str, str]:
    """Model key -> how it fails the order check (nothing when every model passes)."""
    failed = {}
    for key, model in section["models"].items():
        lodo = model["metrics"].get("leave_one_drive_out")
        reordered = model["metrics"].get("reordered")
        if lodo and reordered:
            reason = order_check({"accuracy": lodo["accuracy"], "reordered": reordered})
            if reason:
                failed[key] = reason
    return failed


def shipped_checks(card: dict[str, Any]) -> dict[str, Any]:
    """Every shipped model against the two targets: ECE <= ECE_TARGET after temperature, and
    reordered accuracy >= its leave-one-drive-out accuracy - ORDER_TOLERANCE."""
    models: dict[str, tuple[dict[str, Any], dict[str, float] | None]] = {}
    metrics = card.get("metrics", {})
    if "leave_one_drive_out" in metrics:
        models["five_number/served"] = (metrics["leave_one_drive_out"], metrics.get("reordered"))
    if "five_number_calibrated" in metrics:
        five = metrics["five_number_calibrated"]
        models["five_number/calibrated"] = (five, five.get("reordered"))
    for key, model in card.get("recording_models", {}).get("models", {}).items():
        if model["metrics"]:
            models[key] = (model["metrics"]["leave_one_drive_out"], model["metrics"]["reordered"])
    out: dict[str, Any] = {}
    for key, (lodo, reordered) in models.items():
        if "ece" not in lodo:
            continue
        worst = min(reordered.values()) if reordered else None
        out[key] = {
            "ece": lodo["ece"],
            "ece_lowest_any_temperature": lodo.get("ece_lowest_any_temperature"),
            "ece_sampling_floor": lodo.get("ece_sampling_floor"),
            "ece_met": lodo["ece"] <= ECE_TARGET + 1e-9,
            "accuracy": lodo["accuracy"],
            "reordered_worst": worst,
            "order_met": worst is None or worst >= lodo["accuracy"] - ORDER_TOLERANCE - 1e-9,
        }
    return {
        "ece_target": ECE_TARGET,
        "order_tolerance": ORDER_TOLERANCE,
        "models": out,
        "personalisation": personalisation_checks(
            card.get("recording_models", {}).get("personalisation", {})
        ),
    }


# What the personal simulation must show over population, on the same windows: (channel
# set, accuracy gain, medium-recall gain or None).
PERSONAL_TARGETS = (("all", 0.015, 0.10), ("hr_gsr", 0.015, None))


def personalisation_checks(section: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, accuracy_gain, recall_gain in PERSONAL_TARGETS:
        entry = section.get(name)
        if not entry:
            continue
        gained = entry["personal"]["accuracy"] - entry["population"]["accuracy"]
        recall = entry["personal"]["medium_recall"] - entry["population"]["medium_recall"]
        out.append(
            {
                "channel_set": name,
                "accuracy_gain": round(gained, 4),
                "medium_recall_gain": round(recall, 4),
                "met": gained >= accuracy_gain - 1e-9
                and (recall_gain is None or recall >= recall_gain - 1e-9),
                "target": {"accuracy_gain": accuracy_gain, "medium_recall_gain": recall_gain},
            }
        )
    return out


def checks_text(checks: dict[str, Any]) -> list[str]:
    models = checks["models"]
    if not models:
        return []
    ece_missed = [k for k, m in models.items() if not m["ece_met"]]
    order_missed = [k for k, m in models.items() if not m["order_met"]]
    return [
        f"ECE <= {checks['ece_target']:g} after temperature: met by "
        f"{len(models) - len(ece_missed)} of {len(models)} shipped models"
        + (
            "; not met: "
            + ", ".join(
                f"{k} {models[k]['ece']:.3f}"
                + (
                    f" (no temperature reaches it: lowest "
                    f"{models[k]['ece_lowest_any_temperature']:.3f})"
                    if (models[k].get("ece_lowest_any_temperature") or 0)
                    > checks["ece_target"] + 1e-9
                    else ""
                )
                for k in ece_missed
            )
            if ece_missed
            else ""
        )
        + ".",
        f"Reordered accuracy >= leave-one-drive-out accuracy - {checks['order_tolerance']:g}: "
        f"met by {len(models) - len(order_missed)} of {len(models)}"
        + (
            "; not met: "
            + ", ".join(
                f"{k} {models[k]['reordered_worst']:.3f} vs {models[k]['accuracy']:.3f}"
                for k in order_missed
            )
            if order_missed
            else ""
        )
        + ".",
        *[
            f"Personal model ({c['channel_set']}, labels: first window of each segment): "
            f"accuracy {c['accuracy_gain']:+.3f}, medium recall {c['medium_recall_gain']:+.3f} "
            f"over population (target {c['target']['accuracy_gain']:+g}"
            + (
                f" / {c['target']['medium_recall_gain']:+g}"
                if c["target"]["medium_recall_gain"] is not None
                else ""
            )
            + f"): {'met' if c['met'] else 'NOT met'}."
            for c in checks.get("personalisation", [])
        ],
    ]


def recording_section(payload: dict[str, Any]) -> dict[str, Any]:
    """What the card says about the recording models (the bundle holds the models)."""
    config = payload["config"]
    section = {
        "window": {"seconds": config["window_s"], "stride_seconds": config["stride_s"]},
        "relative_mode": config["mode"],
        "baseline_rule": BASELINE_RULE,
        "config": config,
        "drives": payload["drives"],
        "windows": payload["windows"],
        "models": {
            key: {
                "channel_set": spec.channel_set,
                "roles": list(CHANNEL_SETS[spec.channel_set]),
                "calibrated": spec.calibrated,
                "features": list(spec.features),
                "columns": list(spec.columns),
                "temperature": spec.temperature,
                "metrics": _split_metrics(spec.metrics),
            }
            for key, spec in payload["models"].items()
        },
        "calibration": CALIBRATION_RULE,
        "order_check": {"rule": ORDER_CHECK_RULE, "tolerance": ORDER_TOLERANCE},
        "training_ranges": payload["training_ranges"],
        "selection": selection_summary(config),
        "personalisation": personalisation_summary(config),
        "estimator": ESTIMATOR_CHOICE,
        "drift_rule": DRIFT_RULE,
        "limitations": RECORDING_LIMITATIONS,
    }
    section["order_check"]["failed"] = order_check_failures(section)
    return section


PERSONALISATION_RULE = (
    "Leave-one-drive-out: for each held-out drive, the first window of each of its segments "
    "plays the person's labels (tagged as each episode starts); the personal model is the "
    "fold's population training data plus those windows, each weighted w times an average "
    "population window; both models are scored on the rest of that drive, pooled over "
    "drives. w is chosen (highest accuracy, ties: medium recall) among the weights tried, on "
    "the same folds, so the chosen figure is slightly optimistic. Measured by `python -m "
    "mlcore.recordings.personal` on the shipped configuration."
)


def personalisation_summary(config: dict[str, Any]) -> dict[str, Any]:
    """The card's `recording_models.personalisation`: per channel set, population vs personal
    on the same windows, the labels simulated and the weight."""
    measured = personalisation_read()
    out: dict[str, Any] = {"rule": PERSONALISATION_RULE}
    if measured is None:
        out["measured"] = False
        return out
    out["measured_at"] = measured["measured_at"]
    # Figures for another configuration do not describe these models: say so.
    out["same_configuration"] = measured["config"] == config
    out["weights_tried"] = measured["weights_tried"]
    for name, result in measured["channel_sets"].items():
        out[name] = {
            "population": {
                k: result["population"][k] for k in ("accuracy", "medium_recall", "macro_f1")
            },
            "personal": {
                k: result["personal"][k] for k in ("accuracy", "medium_recall", "macro_f1")
            },
            "labels": result["labels"],
            "weight": result["weight"],
            "windows": result["windows_scored"],
            "by_weight": result["by_weight"],
        }
    return out


def selection_summary(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": SELECTION_RULE, "tried": TRIED}
    if not SELECTION_FILE.is_file():
        return out
    data = json.loads(SELECTION_FILE.read_text())
    rows = data["results"]
    keys = ("window_s", "mode", "absolute", "medium_weight", "estimator", "context_s")

    def short(row: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: row["config"].get(k, 0.0) for k in keys},
            **{k: v for k, v in row.items() if k != "config"},
        }

    chosen = [r for r in rows if all(r["config"].get(k, 0.0) == config[k] for k in keys)]
    out["measured_at"] = data["measured_at"]
    out["configurations"] = len(rows)
    if "order_check" in data:
        out["rejected_by_order_check"] = sum(
            r.get("order_check", "passed") != "passed" for r in rows
        )
    out["chosen"] = short(chosen[0]) if chosen else None
    out["best_overall"] = short(max(rows, key=lambda r: (r["macro_f1"], r["medium_recall"])))
    with_units = [r for r in rows if r["config"]["absolute"] == "all"]
    if with_units:
        out["best_with_unit_bound_values"] = short(
            max(with_units, key=lambda r: (r["macro_f1"], r["medium_recall"]))
        )
    out["best_by_estimator"] = {
        name: short(
            max((r for r in rows if r["config"]["estimator"] == name), key=lambda r: r["accuracy"])
        )
        for name in sorted({r["config"]["estimator"] for r in rows})
    }
    return out


def recording_table(section: dict[str, Any]) -> list[list[str]]:
    rows = [
        [
            "model",
            "accuracy",
            "macro-F1",
            "low P/R",
            "medium P/R",
            "high P/R",
            "worst drive",
            "median drive",
            "ECE before/after",
            "T",
            "reordered A/B",
        ]
    ]
    for key, model in section["models"].items():
        lodo = model["metrics"].get("leave_one_drive_out")
        if not lodo:
            continue
        pc = lodo["per_class"]
        reordered = model["metrics"].get("reordered", {})
        rows.append(
            [
                key,
                f"{lodo['accuracy']:.3f}",
                f"{lodo['macro_f1']:.3f}",
                *[f"{pc[c]['precision']:.2f}/{pc[c]['recall']:.2f}" for c in CLASSES],
                f"{lodo['per_drive_min']:.2f}",
                f"{lodo['per_drive_median']:.2f}",
                f"{lodo['ece_raw']:.3f}/{lodo['ece']:.3f}" if "ece" in lodo else "",
                f"{lodo['temperature']:.2f}" if "temperature" in lodo else "",
                "/".join(f"{reordered[n]:.3f}" for n in sorted(reordered)),
            ]
        )
    return rows


def reliability_rows(section: dict[str, Any]) -> list[list[str]]:
    """One row per model: accuracy / mean confidence (windows) in each confidence bin,
    after temperature."""
    models = {
        key: model["metrics"]["leave_one_drive_out"]["reliability"]
        for key, model in section["models"].items()
        if "reliability" in model["metrics"].get("leave_one_drive_out", {})
    }
    bins = sorted({tuple(row["bin"]) for rows in models.values() for row in rows})
    out = [["model", *[f"{lo:.1f}-{hi:.1f}" for lo, hi in bins]]]
    for key, rows in models.items():
        by_bin = {tuple(row["bin"]): row for row in rows}
        out.append(
            [
                key,
                *[
                    f"{by_bin[b]['accuracy']:.2f} / {by_bin[b]['mean_confidence']:.2f} "
                    f"({by_bin[b]['count']})"
                    if b in by_bin
                    else ""
                    for b in bins
                ],
            ]
        )
    return out


def render_recording_markdown(card: dict[str, Any]) -> str:
    section = card.get("recording_models")
    if not section:
        return ""
    window = section["window"]
    out = [
        "## Recording models (one per channel set, calibrated and population)",
        "",
        f"Windows of {window['seconds']:.0f} s every {window['stride_seconds']:.0f} s; "
        f"features relative to the baseline by `{section['relative_mode']}`. "
        f"{section['baseline_rule']}",
        "",
    ]
    selection = section.get("selection", {})
    out += [selection.get("rule", ""), ""]
    for label, key in (
        ("chosen", "chosen"),
        ("best overall", "best_overall"),
        ("best keeping unit-bound values", "best_with_unit_bound_values"),
    ):
        row = selection.get(key)
        if row:
            reordered = row.get("reordered")
            check = row.get("order_check", "passed")
            out.append(
                f"- {label}: {row['estimator']} {row['window_s']:.0f} s, context "
                f"{row['context_s']:.0f} s, {row['mode']}, "
                f"absolute {row['absolute']}, medium x{row['medium_weight']:g}: accuracy "
                f"{row['accuracy']:.3f}, macro-F1 {row['macro_f1']:.3f}, medium recall "
                f"{row['medium_recall']:.3f}, worst drive {row['per_drive_min']:.3f}"
                + (
                    f", reordered A {reordered['A']:.3f} / B {reordered['B']:.3f}"
                    if reordered
                    else ""
                )
                + ("" if check == "passed" else f" ({check})")
            )
    if "rejected_by_order_check" in selection:
        out.append(
            f"- {selection['rejected_by_order_check']} of {selection['configurations']} "
            "configurations rejected by the order check."
        )
    out += ["", section.get("estimator", ""), ""]
    if selection.get("tried"):
        out += ["Toward 0.90, tried:", ""] + [f"- {t}" for t in selection["tried"]] + [""]
    rows = recording_table(section)
    if len(rows) > 1:
        out += ["Leave-one-drive-out (every drive held out once):", "", _table(rows), ""]
        if section.get("calibration"):
            out += [section["calibration"], ""]
        reliability = reliability_rows(section)
        if len(reliability) > 1:
            out += [
                "Reliability after temperature, per confidence bin: accuracy / mean "
                "confidence (windows):",
                "",
                _table(reliability),
                "",
            ]
        check = section.get("order_check")
        if check:
            failed = check.get("failed", {})
            out += [
                check["rule"],
                "",
                "Every model passes."
                if not failed
                else "Failing: " + "; ".join(f"{k} ({v})" for k, v in failed.items()) + ".",
                "",
            ]
    five = card["metrics"].get("five_number_calibrated")
    if five:
        out += [
            f"Five-number model with a personal baseline: accuracy {five['accuracy']:.3f}, "
            f"macro-F1 {five['macro_f1']:.3f}, medium recall "
            f"{five['per_class']['medium']['recall']:.3f}, worst drive "
            f"{five['per_drive_min']:.2f} (leave-one-drive-out).",
            "",
            *_confidence_lines(five, five.get("reordered")),
        ]
    out += ["### Limitations of the recording models", ""]
    out += [f"- {item}" for item in section["limitations"]]
    return "\n".join(out) + "\n"
