"""The distill progress display (cli/progress.py): plain lines, ETA from the env-step budget."""

from __future__ import annotations

import re

from hades_zoo.cli.progress import DistillProgress


def _rows(gen: int, steps: float) -> dict:
    return {"mean_return": 1.0, "best_return_so_far": 2.0, "env_steps_total": steps,
            "generation": gen}


def _eta(line: str) -> float:
    return float(re.search(r"ETA\s+(\S+)s\]", line).group(1))


def test_plain_lines_show_generation_rates_and_returns(capsys):
    with DistillProgress("x", total=100, live=False) as bar:
        bar(10, _rows(10, 1000.0))
    line = capsys.readouterr().out.strip()
    assert line.startswith("gen    10/100")
    assert "return mean 1.0 best 2.0" in line and "steps/s" in line and "gen/s" in line


def test_eta_follows_the_env_step_budget_when_it_comes_first(capsys, monkeypatch):
    clock = iter(range(0, 1000, 10))  # every chunk takes 10 s
    monkeypatch.setattr("hades_zoo.cli.progress.time.perf_counter", lambda: next(clock))
    # 10 generations and 1M steps per chunk; 1M steps of budget left = one more chunk,
    # while 99,980 generations are left: the ETA must be the budget's, not the cap's.
    with DistillProgress("x", total=100_000, live=False, max_env_steps=2e6) as bar:
        bar(10, _rows(10, 1e6))
        bar(20, _rows(20, 2e6 - 1e6 / 2))
    budget_line = capsys.readouterr().out.strip().splitlines()[-1]
    with DistillProgress("x", total=100_000, live=False) as bar:
        bar(10, _rows(10, 1e6))
        bar(20, _rows(20, 2e6 - 1e6 / 2))
    cap_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "1.5M/2.0M env steps" in budget_line
    assert _eta(budget_line) == 10  # 0.5M steps left at the last chunk's 50k steps/s
    assert _eta(cap_line) == 99_980


def test_live_bar_runs_without_a_terminal():
    with DistillProgress("x", total=10, live=True, max_env_steps=100.0) as bar:
        bar(5, _rows(5, 50.0))
    with DistillProgress("x", total=10, live=True) as bar:
        bar(5, _rows(5, 50.0))
