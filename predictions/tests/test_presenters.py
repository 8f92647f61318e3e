"""What pages show of a result: its score and level, and what drove it in words."""

from predictions.presenters import result_summary, window_reasons


def test_a_result_is_a_score_with_a_level_or_uncertain():
    assert result_summary({"low": 0.1, "medium": 0.2, "high": 0.7}) == {
        "score": 80,
        "level": "high",
    }
    assert result_summary({"low": 0.35, "medium": 0.36, "high": 0.29})["level"] == "uncertain"


def test_a_window_is_explained_with_what_the_scorer_stored_beside_it():
    contributions = {"resp_rate__diff": 0.12, "scr_rate__diff": 0.05, "hr_mean": -0.01}
    why = [
        ["resp_rate__diff", 1, 0.4],
        ["scr_rate__diff", 1, 0.17],
        ["hr_mean", 0, 0.03],  # under 5%: noise, left out
    ]
    assert [(r.text, r.share, r.towards) for r in window_reasons(contributions, why)] == [
        ("Your breathing was faster than at rest", 0.4, True),
        ("Skin conductance rose more often than at rest", 0.17, True),
    ]
    # A window scored before the directions were stored: what moved it, without a direction.
    older = window_reasons(contributions, None)
    assert [r.text for r in older] == [
        "Your breathing rate, compared with your rest",
        "How often your skin conductance rose, compared with your rest",
        "Your heart rate",
    ]
