"""Saved evaluation runs: each `qa eval` is kept under the index's runs folder, and a run is compared with the
previous one on the same gold set."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.evaluation.gold import format_metric
from qa.kernel.files import write_atomic


@dataclass(frozen=True)
class Comparison:
    """What changed between the previous saved run on a gold set and this one, per mode."""

    previous_at: str
    metrics: dict[str, dict[str, tuple[float | None, float | None]]]
    newly_passing: dict[str, list[str]]
    newly_failing: dict[str, list[str]]

    def outline(self) -> list[tuple[int, str]]:
        """The comparison as (depth, line) pairs: each mode's metrics before → after, then its changed questions."""
        lines: list[tuple[int, str]] = []
        for mode, metrics in self.metrics.items():
            changes = ", ".join(f"{name} {format_metric(a)} → {format_metric(b)}" for name, (a, b) in metrics.items())
            lines.append((0, f"{mode}: {changes}"))
            for label, ids in (
                ("newly passing", self.newly_passing[mode]),
                ("newly failing", self.newly_failing[mode]),
            ):
                if ids:
                    lines.append((1, f"{label}: {', '.join(ids)}"))
        return lines


def save_run(runs: Path, key: str, data: dict[str, Any]) -> Path:
    """Store an evaluation under the index's runs folder."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = runs / f"{key}-{stamp}.json"
    write_atomic(path, json.dumps(data, indent=2))
    return path


def previous_run(runs: Path, key: str) -> dict[str, Any] | None:
    """The latest saved run for the key, or None."""
    if not runs.is_dir():
        return None
    for path in sorted(runs.glob(f"{key}-*.json"), reverse=True):
        try:
            loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return loaded
    return None


COMPARED_METRICS = (
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr_at_10",
    "answer_sentence_accuracy",
    "abstention_recall",
    "false_abstention_rate",
    "auroc",
    "ece",
    "ndcg@10",
)


def compare_runs(before: dict[str, Any], after: dict[str, Any]) -> Comparison:
    """Metrics before and after, and questions that newly pass or fail, for modes in both runs."""
    metrics: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    passing: dict[str, list[str]] = {}
    failing: dict[str, list[str]] = {}
    for mode, now in after["modes"].items():
        then = before["modes"].get(mode)
        if then is None:
            continue
        flat_then, flat_now = _flat_metrics(then), _flat_metrics(now)
        metrics[mode] = {
            name: (flat_then.get(name), flat_now.get(name)) for name in COMPARED_METRICS if name in flat_now
        }
        passing[mode] = sorted(set(now.get("passed", [])) - set(then.get("passed", [])))
        failing[mode] = sorted(set(now.get("failed", [])) - set(then.get("failed", [])))
    return Comparison(before.get("at", "?"), metrics, passing, failing)


def _flat_metrics(mode: dict[str, Any]) -> dict[str, float | None]:
    flat: dict[str, float | None] = dict(mode.get("hit_at", {}))
    for name, value in mode.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat
