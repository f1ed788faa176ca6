"""What the app says when work fails, and the states the status line shows, without running the app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qa.interfaces.tui.explain import BUG, TITLES, Explanation, Task, explain_error
from qa.interfaces.tui.states import IndexState, ModelState
from qa.kernel.errors import CorpusError, IndexCorruptError, InputError, ModelError
from tests.conftest import REPO

CORPUS = Path("/data/corpus")


def test_a_missing_corpus_names_the_folder_and_offers_a_rebuild() -> None:
    explained = explain_error(CorpusError("corpus folder /data/corpus does not exist"), "index", CORPUS)
    assert explained.title == "The index could not be opened"
    assert explained.message == "corpus folder /data/corpus does not exist"
    assert str(CORPUS) in explained.fix and "--corpus DIR" in explained.fix
    assert explained.actions == (("rebuild", "Rebuild (F5)"),)


def test_a_corrupt_index_offers_a_rebuild_from_scratch() -> None:
    explained = explain_error(IndexCorruptError("the index is broken"), "rebuild", CORPUS)
    assert explained.title == "The index could not be rebuilt"
    assert explained.actions == (("full-rebuild", "Rebuild from scratch"),)


def test_a_model_failure_points_to_lexical_mode() -> None:
    explained = explain_error(ModelError("cannot load model"), "model", CORPUS)
    assert explained == Explanation(
        "The model could not be loaded",
        "cannot load model",
        "Lexical mode (keywords only) works without the model, and is now on.",
    )


def test_other_user_errors_say_only_what_went_wrong() -> None:
    assert explain_error(InputError("k must be at least 1"), "ask", CORPUS) == Explanation(
        "The question could not be answered", "k must be at least 1"
    )


def test_an_unexpected_error_is_a_bug_report_with_its_type() -> None:
    explained = explain_error(RuntimeError("boom"), "ask", CORPUS)
    assert explained.message == "RuntimeError: boom"
    assert explained.fix == BUG
    assert explained.actions == ()


@pytest.mark.parametrize("task", list(TITLES))
def test_every_task_has_a_title(task: Task) -> None:
    assert explain_error(RuntimeError(), task, CORPUS).title == TITLES[task]


def test_index_states_say_what_runs() -> None:
    assert IndexState.OPENING.working and not IndexState.OPENING.building
    for state in (IndexState.BUILDING, IndexState.UPDATING, IndexState.REBUILDING, IndexState.REBUILDING_FULL):
        assert state.working and state.building
    assert [state for state in IndexState if state.rebuilding] == [IndexState.REBUILDING, IndexState.REBUILDING_FULL]
    for state in (IndexState.READY, IndexState.UNUSABLE, IndexState.REBUILD_FAILED, IndexState.NEEDS_MODEL):
        assert not state.working and not state.building
    assert IndexState.READY.label == ""
    assert IndexState.after_failure(rebuild=True) is IndexState.REBUILD_FAILED
    assert IndexState.after_failure(rebuild=False).label == "no usable index"
    assert [state.label for state in ModelState] == ["loading…", "ready", "failed"]


def test_the_queue_explanations_and_states_import_no_textual() -> None:
    code = (
        "import sys, qa.interfaces.tui.asking, qa.interfaces.tui.explain, qa.interfaces.tui.states; "
        "print(sorted(name for name in sys.modules if 'textual' in name))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == "[]"
