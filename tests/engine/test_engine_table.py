"""The engine's choice lists and sampling settings are the parameter table's (``core.params``).

The registries of implementations (solvers, presets) keep their own keys; these tests fail when
one of them and the table's ``choices`` disagree, or when a sampling setting the bridge sends is not
a field of ``SamplingParams``.
"""

from __future__ import annotations

import dataclasses

from core import grid
from core.params import RENDER, SAMPLING, param
from engine.chords import CHORD_ORDERS
from engine.config import DrumsConfig, JascoConfig, MelodyConfig
from engine.drums import FILLS
from engine.guidance import MELODY_GUIDANCE, MODES
from engine.pipeline import SamplingParams
from engine.presets import NAMES as PRESET_NAMES
from engine.samplers import SAMPLERS


def test_choice_lists_are_the_tables() -> None:
    assert MODES == param("guidance").choices
    assert MELODY_GUIDANCE == param("melody_guidance").choices
    assert CHORD_ORDERS == param("chord_order").choices
    assert FILLS == param("drums_fill").choices
    assert tuple(SAMPLERS) == param("solver").choices
    assert PRESET_NAMES == param("preset").choices


def test_sampling_params_take_exactly_the_tables_sampling_settings() -> None:
    fields = {f.name: f for f in dataclasses.fields(SamplingParams)}
    render_names = {p.name for p in RENDER}
    assert {p.name for p in SAMPLING} == set(fields) & render_names
    for p in SAMPLING:
        if p.name != "seed":  # the engine's seed is concrete; the table's default is "random"
            assert fields[p.name].default == p.default, p.name


def test_model_config_defaults_are_the_grid() -> None:
    drums = DrumsConfig()
    assert (drums.sample_rate, drums.frame_rate, drums.segment_duration) == (
        grid.SAMPLE_RATE, grid.FRAME_RATE, grid.WINDOW_SECONDS)
    assert MelodyConfig().card == grid.MELODY_BINS
    defaults = {f.name: f.default for f in dataclasses.fields(JascoConfig)}
    assert (defaults["sample_rate"], defaults["frame_rate"]) == (grid.SAMPLE_RATE, grid.FRAME_RATE)
    assert int(defaults["segment_duration"] * defaults["frame_rate"]) == grid.WINDOW_FRAMES
