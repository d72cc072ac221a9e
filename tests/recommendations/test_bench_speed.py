"""bench/recs_train_speed.py end to end on a tiny MovieLens sample (slow: a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.recommendations.test_import_train import write_ml100k

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_speed_bench_imports_trains_twice_and_reports_ratios_to_its_als_baseline(tmp_path):
    data = tmp_path / "ml"
    data.mkdir()
    write_ml100k(data)
    out = tmp_path / "result.json"
    env = {**os.environ, "STREAMSITE_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "bench/recs_train_speed.py", str(data), "--json", str(out)],
        cwd=ROOT,
        env={**env, "RECS_HOLDOUT": "1"},
        check=True,
        capture_output=True,
        timeout=600,
    )
    result = json.loads(out.read_text())
    # 6 viewers x 3 ratings of 5 films; every rating is an interaction (validated weights)
    assert result["database"] == "sqlite"
    assert result["shape"] == [6, 5]
    assert result["interactions"] == 18
    # on so small a sample the two-stage model cannot beat its own EASE stage: the gate hands
    # that stage a version of its own, live after the first run, a candidate after the second
    assert result["algorithm"] == "ease"
    assert result["status"] == ["live", "candidate"]
    assert result["target_ratio"] == 5.0
    assert set(result) == {
        "load_average_1m",
        "data",
        "database",
        "shape",
        "interactions",
        "import_s",
        "recs_train_first_s",
        "recs_train_again_s",
        "als_fit_evaluate_s",
        "als_runs_s",
        "ratio_first",
        "ratio_again",
        "cpu_s",
        "cpu_ratio_first",
        "cpu_ratio_again",
        "algorithm",
        "status",
        "ndcg@10",
        "als_ndcg@10",
        "target_ratio",
    }
    assert set(result["cpu_s"]) == {"recs_train_first", "recs_train_again", "als_fit_evaluate"}
    # the baseline is the fastest of its three runs (wall and CPU each)
    assert len(result["als_runs_s"]) == 3
    assert result["als_fit_evaluate_s"] == min(wall for wall, _cpu in result["als_runs_s"])
    assert result["cpu_s"]["als_fit_evaluate"] == min(cpu for _wall, cpu in result["als_runs_s"])
