from mlcore import drivedb
from mlcore.recordings import select
from mlcore.recordings.train import QUICK, leave_one_drive_out, order_check, reordered_windows


def row(macro_f1, accuracy, a, b):
    metrics = {"accuracy": accuracy, "reordered": {"A": a, "B": b}}
    failed = order_check(metrics)
    return {
        "config": {"macro_f1": macro_f1},
        "macro_f1": macro_f1,
        "medium_recall": 0.5,
        "accuracy": accuracy,
        "reordered": metrics["reordered"],
        "order_check": "passed" if failed is None else f"rejected: {failed}",
    }


def test_a_candidate_losing_more_than_two_points_when_reordered_is_rejected():
    assert order_check({"accuracy": 0.83, "reordered": {"A": 0.81, "B": 0.84}}) is None
    reason = order_check({"accuracy": 0.83, "reordered": {"A": 0.80, "B": 0.84}})
    assert reason is not None and "0.030 accuracy in order A" in reason
    learns_the_order = row(0.85, 0.87, 0.70, 0.86)  # the best figures, but not the body's
    honest = row(0.79, 0.83, 0.82, 0.83)
    assert learns_the_order["order_check"].startswith("rejected")
    assert select.choose([learns_the_order, honest]) is honest
    assert select.choose([learns_the_order]) is None
    assert "REJECTED" in select.describe(
        {
            **learns_the_order,
            "per_drive_min": 0.6,
            "config": {
                "estimator": "hgb",
                "window_s": 120.0,
                "mode": "diff",
                "absolute": "unit_free",
                "medium_weight": 2.0,
                "context_s": 900.0,
            },
        }
    )


def test_selection_scores_each_candidate_on_the_reordered_drives(monkeypatch):
    datas = [select.load_drive_data(n) for n in ("drive05", "drive07", "drive08")]
    windows = [
        select.drive_windows(d, QUICK.window_s, QUICK.stride_s, context_s=QUICK.context_s)
        for d in datas
    ]
    reordered = reordered_windows(datas, QUICK)
    assert set(reordered) == set(drivedb.ORDERS)
    result = select.measure(QUICK, windows, reordered)
    assert set(result["reordered"]) == {"A", "B"}
    assert result["order_check"] == "passed" or result["order_check"].startswith("rejected")
    # The same fold models score the originals and the reordered drives.
    from mlcore.recordings.spec import make_spec

    spec = make_spec("all", True, QUICK.mode, QUICK.absolute, context_s=QUICK.context_s)
    metrics = leave_one_drive_out(spec, windows, QUICK, reordered)
    assert metrics["reordered"] == result["reordered"]
    assert metrics["accuracy"] == result["accuracy"]
    assert all(set(d["reordered"]) == {"A", "B"} for d in metrics["per_drive"].values())
