"""ONNX Runtime sessions and Hugging Face tokenizers for the torch-free serving path, each checked by sha256; and the
cache folder where exported graphs live."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.kernel.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

THREADS = 2  # this project's machines have two cores
CACHE_ENV = "QA_CACHE"


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir() -> Path:
    """The folder for derived model files: $QA_CACHE, else the platform's user cache folder for qa."""
    found = os.environ.get(CACHE_ENV)
    if found:
        return Path(found).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("qa", appauthor=False))


def open_session(path: Path, sha256: str | None, threads: int = THREADS) -> onnxruntime.InferenceSession:
    """An inference session on the CPU for the ONNX graph at `path`, refused when its sha256 is not `sha256`.

    The file is read once: the bytes that were checked are the bytes the session is built from.
    """
    import onnxruntime

    try:
        graph = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model file {path} is missing") from None
    except OSError as error:
        raise ModelError(f"model file {path} is unreadable ({error.strerror or type(error).__name__})") from error
    if sha256 is not None and hashlib.sha256(graph).hexdigest() != sha256:
        raise ModelError(f"model file {path} fails its sha256 check")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # idle threads sleep rather than spin: two sessions (the embedder, then the verifier) run one after the other per
    # question, and a session spinning after its run starves the next one on a small machine
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/RuntimeException types
        raise ModelError(f"model file {path} is not a usable ONNX graph ({type(error).__name__})") from error


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    """The fast tokenizer saved in `tokenizer.json`, truncating to `max_length` tokens and padding to the longest
    (with the file's own padding token, when it names one)."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises plain Exception subclasses for bad files
        raise ModelError(f"tokenizer {path} is unreadable ({type(error).__name__})") from error
    tokenizer.enable_truncation(max_length=max_length)
    padding = tokenizer.padding
    if padding:
        tokenizer.enable_padding(
            pad_id=padding["pad_id"], pad_type_id=padding["pad_type_id"], pad_token=padding["pad_token"]
        )
    else:
        tokenizer.enable_padding()
    return tokenizer


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when the file is missing or is not a JSON object."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
