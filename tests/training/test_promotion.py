import math

from training.promotion import gate_verdict


def test_first_model_is_promoted_when_there_is_no_champion():
    d = gate_verdict({"ndcg_at_5": 0.1}, None, metric="ndcg_at_5", margin=0.01)
    assert d.promote and "no current champion" in d.reason


def test_equal_model_is_refused():
    d = gate_verdict({"ndcg_at_5": 0.2}, {"ndcg_at_5": 0.2}, metric="ndcg_at_5", margin=0.0)
    assert not d.promote
    assert "does not beat" in d.reason


def test_margin_is_relative():
    champ = {"map_at_7": 0.50}
    assert not gate_verdict(
        {"map_at_7": 0.504}, champ, metric="map_at_7", margin=0.01
    ).promote
    assert gate_verdict({"map_at_7": 0.506}, champ, metric="map_at_7", margin=0.01).promote


def test_worse_model_is_refused_with_both_figures_in_the_reason():
    d = gate_verdict(
        {"ndcg_at_5": 0.30}, {"ndcg_at_5": 0.40}, metric="ndcg_at_5", margin=0.01
    )
    assert not d.promote
    assert "0.3000" in d.reason and "0.4000" in d.reason


def test_candidate_without_the_metric_or_with_nan_is_refused():
    assert not gate_verdict({}, None, metric="ndcg_at_5", margin=0.0).promote
    assert not gate_verdict(
        {"ndcg_at_5": math.nan}, None, metric="ndcg_at_5", margin=0.0
    ).promote


def test_zero_champion_needs_absolute_margin():
    champ = {"ndcg_at_5": 0.0}
    assert not gate_verdict(
        {"ndcg_at_5": 0.0}, champ, metric="ndcg_at_5", margin=0.01
    ).promote
    assert gate_verdict({"ndcg_at_5": 0.02}, champ, metric="ndcg_at_5", margin=0.01).promote
