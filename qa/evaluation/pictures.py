"""The pictures `qa eval --report FILE.md` draws beside its Markdown, for a set evaluated with confidences (a gold
set or SQuAD; BEIR has none): a reliability diagram of the confidence, the ROC curve of answerable against
unanswerable questions with the chosen threshold marked, and accuracy against answer rate. They are drawn from the
run's JSON with matplotlib's Agg renderer, imported only here, when drawing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.evaluation.tradeoffs import FALSE_ABSTENTION_LIMIT

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 6.4, 4.8, 100  # inches and dots per inch: 640 x 480 pixels
CHOSEN = f"threshold for false abstentions <= {FALSE_ABSTENTION_LIMIT:.0%}"


@dataclass(frozen=True)
class Picture:
    """A PNG file drawn for a report, and what it shows (its caption in the Markdown)."""

    caption: str
    path: Path


def draw(data: dict[str, Any], report: Path) -> list[Picture]:
    """Draw the pictures of an evaluation beside `report` (REPORT-reliability.png, -roc.png and -tradeoff.png; the
    ROC curve only when the set has both answerable and unanswerable questions); none without confidences."""
    modes = {mode: values for mode, values in data.get("modes", {}).items() if values.get("tradeoff")}
    if "beir" in data or not modes:
        return []
    name = set_name(data)
    drawn = [_reliability(modes, name, report.with_name(f"{report.stem}-reliability.png"))]
    if all(_rates(values["tradeoff"][0]) is not None for values in modes.values()):
        drawn.append(_roc(modes, name, report.with_name(f"{report.stem}-roc.png")))
    drawn.append(_tradeoff(modes, name, report.with_name(f"{report.stem}-tradeoff.png")))
    return drawn


def set_name(data: dict[str, Any]) -> str:
    """The evaluated set as a title names it: the gold or SQuAD file's name, and how many held-out articles."""
    name = Path(str(data["gold"]).split(" (held-out articles:", 1)[0]).name  # SQuAD's label names them after
    asked = data.get("asked_articles", [])
    return f"{name}, {len(asked)} held-out articles" if 0 < len(asked) < data.get("articles", 0) else name


def _figure(rows: int = 1, ratios: Sequence[int] = (1,)) -> tuple[Figure, list[Axes]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(rows, 1, height_ratios=list(ratios))
    return figure, [figure.add_subplot(grid[row]) for row in range(rows)]


def _save(figure: Figure, path: Path, caption: str) -> Picture:
    figure.savefig(path, format="png")
    return Picture(caption, path)


def _reliability(modes: dict[str, dict[str, Any]], name: str, path: Path) -> Picture:
    """Accuracy against mean confidence in each tenth (on the diagonal when calibrated), over the questions in it."""
    figure, (curve, counts) = _figure(2, (3, 1))
    curve.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="calibrated")
    width = 0.1 / len(modes)
    for colour, (mode, values) in enumerate(modes.items()):
        bins = values["reliability"]
        ece = "-" if values.get("ece") is None else f"{values['ece']:.3f}"
        curve.plot(
            [found["confidence"] for found in bins],
            [found["accuracy"] for found in bins],
            marker="o",
            color=f"C{colour}",
            label=f"{mode} (ECE {ece})",
        )
        counts.bar(
            [found["low"] + colour * width for found in bins],
            [found["questions"] for found in bins],
            width=width,
            align="edge",
            color=f"C{colour}",
        )
    curve.set(xlim=(0, 1), ylim=(0, 1.01), ylabel="share answered correctly", title=f"Reliability: {name}")
    curve.legend(loc="upper left", fontsize="small")
    counts.set(xlim=(0, 1), xlabel="confidence", ylabel="questions")
    return _save(figure, path, "Reliability diagram: how often the top sentence answers, by confidence")


def _roc(modes: dict[str, dict[str, Any]], name: str, path: Path) -> Picture:
    """Answerable questions answered against unanswerable ones answered, as the threshold falls."""
    figure, (axes,) = _figure()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    for colour, (mode, values) in enumerate(modes.items()):
        auroc = "-" if values.get("auroc") is None else f"{values['auroc']:.3f}"
        points = [found for found in map(_rates, values["tradeoff"]) if found is not None]
        axes.plot(
            [0.0, *(x for x, _ in points)],
            [0.0, *(y for _, y in points)],
            color=f"C{colour}",
            label=f"{mode} (AUROC {auroc})",
        )
        _mark(axes, values, colour, _rates)
    _legend_marks(axes)
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="unanswerable questions answered (false positive rate)",
        ylabel="answerable questions answered (true positive rate)",
        title=f"ROC: {name}",
    )
    axes.legend(loc="lower right", fontsize="small")
    return _save(figure, path, f"ROC curve of the confidence, answerable against unanswerable, {CHOSEN} marked")


def _tradeoff(modes: dict[str, dict[str, Any]], name: str, path: Path) -> Picture:
    """The accuracy of the answers given against the share of questions answered, as the threshold falls."""
    figure, (axes,) = _figure()
    for colour, (mode, values) in enumerate(modes.items()):
        points = [found for found in map(_given, values["tradeoff"]) if found is not None]
        axes.plot([x for x, _ in points], [y for _, y in points], color=f"C{colour}", label=mode)
        _mark(axes, values, colour, _given)
    _legend_marks(axes)
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="answer rate (share of questions answered)",
        ylabel="accuracy of the answers given",
        title=f"Accuracy against answer rate: {name}",
    )
    axes.legend(loc="lower left", fontsize="small")
    return _save(figure, path, f"Accuracy against answer rate, {CHOSEN} marked")


Coordinates = Callable[[dict[str, Any]], tuple[float, float] | None]


def _rates(point: dict[str, Any]) -> tuple[float, float] | None:
    """An operating point on the ROC plane: the shares of unanswerable and of answerable questions answered."""
    if point["near_misses_refused"] is None or point["false_abstentions"] is None:
        return None
    return 1 - point["near_misses_refused"], 1 - point["false_abstentions"]


def _given(point: dict[str, Any]) -> tuple[float, float] | None:
    """An operating point on the trade-off plane: answer rate and accuracy (None when nothing is answered)."""
    return None if point["accuracy"] is None else (point["answer_rate"], point["accuracy"])


def _mark(axes: Axes, values: dict[str, Any], colour: int, place: Coordinates) -> None:
    """Mark one mode's chosen threshold (a star, with its value) and qa's own answers (a cross)."""
    chosen = values.get("chosen_threshold")
    if chosen is not None and (found := place(chosen)) is not None:
        axes.plot(*found, marker="*", markersize=14, color=f"C{colour}", linestyle="none")
        below = (7, -12 - 9 * colour)  # the modes' values apart where their stars meet
        axes.annotate(f"{chosen['threshold']:.2f}", found, textcoords="offset points", xytext=below, fontsize=8)
    decision = values.get("decision")
    if decision is not None and (found := place(decision)) is not None:
        axes.plot(*found, marker="X", markersize=9, color=f"C{colour}", linestyle="none")


def _legend_marks(axes: Axes) -> None:
    """Legend entries for the marks of `_mark`."""
    axes.plot([], [], marker="*", markersize=10, color="black", linestyle="none", label=CHOSEN)
    axes.plot([], [], marker="X", markersize=8, color="black", linestyle="none", label="qa's own answers")
