"""The jam's render budget (bridge/jam/budget.py): when a phrase keeps up, how late it lands, what to change."""

from __future__ import annotations

import math

from bridge.jam.budget import FASTEST_PRESET, BudgetReport, sustainable_bars
from core.params import param
from engine.presets import PRESETS


def test_the_fastest_preset_is_the_one_with_fewest_evaluations() -> None:
    assert FASTEST_PRESET in param("preset").choices
    fixed = {name: p.evaluations for name, p in PRESETS.items() if p.evaluations is not None}
    assert fixed[FASTEST_PRESET] == min(fixed.values())


def test_a_phrase_that_renders_faster_than_it_plays_keeps_up() -> None:
    report = BudgetReport(render_s=6.0, phrase_s=8.0)
    assert report.keeps_up and report.phrases_late == 0
    assert report.advice(4, "sketch") == "keeps up: renders in 75 % of a phrase"


def test_a_slow_phrase_lands_late_and_the_advice_names_the_fix() -> None:
    report = BudgetReport(render_s=20.0, phrase_s=8.0)  # 2.5 phrases: lands 3 boundaries after it was asked for
    assert not report.keeps_up and report.phrases_late == 2
    advice = report.advice(4, "draft")
    assert "cannot keep up" in advice and "lands 3 boundaries" in advice
    assert f"the {FASTEST_PRESET} preset (now draft)" in advice and "at least 11 bars" in advice
    assert "preset" not in report.advice(4, FASTEST_PRESET)  # already the fastest: only more bars
    assert "(now the default)" in report.advice(4, "")
    assert BudgetReport(1.0, 0.0).ratio == math.inf and BudgetReport(1.0, 0.0).phrases_late == 1


def test_sustainable_bars() -> None:
    assert sustainable_bars(render_s_per_bar=1.0, setup_s=3.0, bar_s=2.0) == 4  # 3 + 4 < 8
    assert sustainable_bars(render_s_per_bar=2.5, setup_s=0.0, bar_s=2.0) is None  # never: each bar costs more
