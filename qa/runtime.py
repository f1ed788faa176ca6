"""ONNX Runtime sessions and Hugging Face tokenizers for the torch-free serving path, each checked by sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

THREADS = 2  # this project's machines have two cores


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def open_session(path: Path, sha256: str | None, threads: int = THREADS) -> onnxruntime.InferenceSession:
    """An inference session on the CPU for the ONNX graph at `path`, refused when its sha256 is not `sha256`."""
    import onnxruntime

    if not path.is_file():
        raise ModelError(f"model file {path} is missing")
    if sha256 is not None and file_sha256(path) != sha256:
        raise ModelError(f"model file {path} fails its sha256 check")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/RuntimeException types
        raise ModelError(f"model file {path} is not a usable ONNX graph ({type(error).__name__})") from error


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    """The fast tokenizer saved in `tokenizer.json`, truncating to `max_length` tokens and padding to the longest."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises plain Exception subclasses for bad files
        raise ModelError(f"tokenizer {path} is unreadable ({type(error).__name__})") from error
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding()
    return tokenizer
