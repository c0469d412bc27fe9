"""The benchmark's own logic (``make bench``): what it runs and how it reads the timings. No timing is asserted here."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType

import pytest

from .conftest import PROJECT


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", PROJECT / "scripts" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def test_the_platform_is_timed_as_the_cdk_cli_runs_it_and_the_floor_with_the_same_interpreter() -> None:
    app = json.loads((PROJECT / "cdk.json").read_text(encoding="utf-8"))["app"]
    assert app.split() == bench.PLATFORM
    assert bench.PLATFORM[-1] == "app.py"
    assert bench.PLATFORM[:-1] == bench.PYTHON
    assert "-O" in bench.PYTHON  # the floor pays the same interpreter costs as the platform


def test_interpreter_keeps_the_flags_and_drops_the_script() -> None:
    assert bench.interpreter(["python3", "-O", "-X", "importtime", "app.py"]) == ["python3", "-O", "-X", "importtime"]


def test_fit_of_points_on_a_line() -> None:
    line = bench.fit([(1, 2.0), (5, 2.8), (12, 4.2)])
    assert line.slope == pytest.approx(0.2)
    assert line.intercept == pytest.approx(1.8)
    assert line.r_squared == pytest.approx(1.0)
    assert line.middle_deviation == pytest.approx(0.0, abs=1e-9)
    assert line.chord_rise == pytest.approx(2.2)


def test_fit_reports_how_far_the_middle_point_strays_from_the_chord() -> None:
    line = bench.fit([(1, 2.0), (5, 3.4), (12, 4.2)])  # the chord gives 2.8 s at 5 clusters
    assert line.middle_deviation == pytest.approx(0.6)
    assert line.r_squared < 1.0


def test_the_largest_count_is_predicted_from_the_resources_per_cluster() -> None:
    results = {1: bench.Synthesis(2.9, resources=133, outputs=10), 5: bench.Synthesis(3.5, resources=265, outputs=18)}
    # 33 resources per cluster: 133 + 11 * 33 = 496 fits in 500, one more does not.
    assert bench._predicted_limit(results) == 12
    assert bench._predicted_limit({1: results[1]}) is None


def test_scaled_settings_copy_the_first_cluster_and_keep_the_transient_ones() -> None:
    data = bench.scaled_settings(3)
    assert list(data["clusters"]) == ["c01", "c02", "c03"]
    assert data["clusters"]["c01"] == data["clusters"]["c03"]
    assert data["clusters"]["c01"] is not data["clusters"]["c03"]
    assert data["transient_clusters"]
