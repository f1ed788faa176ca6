"""A tiny ONNX graph and model folder standing in for an exported transformer, so the ONNX path is tested without torch.

The graph looks each token up in a random table (token vectors that ignore their context) and zeroes padding: the
vectors it gives can be recomputed here by hand.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from qa.models.embedding import bundled_model_path

DIMENSION = 8
VOCABULARY = 30522  # the bundled tokenizer's


def table(dimension: int = DIMENSION, seed: int = 0) -> np.ndarray:
    """The token vector table of the tiny graph."""
    return np.random.default_rng(seed).standard_normal((VOCABULARY, dimension)).astype(np.float32)


def tiny_graph(path: Path, dimension: int = DIMENSION, seed: int = 0) -> Path:
    """Write a graph with the exported transformer's inputs and output: token vectors = table[input_ids] * mask."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info("token_vectors", TensorProto.FLOAT, ["batch", "tokens", dimension])
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["looked_up"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_float"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_float", "last_axis"], ["mask_3d"]),
        helper.make_node("Mul", ["looked_up", "mask_3d"], ["token_vectors"]),
    ]
    initializers = [
        numpy_helper.from_array(table(dimension, seed), "table"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "last_axis"),
    ]
    graph = helper.make_graph(nodes, "tiny", inputs, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def model_folder(
    folder: Path,
    *,
    dimension: int = DIMENSION,
    pooling: object = "mean",
    normalize: bool = True,
    weights: bytes = b"tiny weights",
    modules: list[str] | None = None,
) -> Path:
    """A sentence-transformers-style folder: the bundled tokenizer, a Pooling config and stand-in weights."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(bundled_model_path() / "tokenizer.json", folder / "tokenizer.json")
    (folder / "model.safetensors").write_bytes(weights)
    kinds = modules or ["Transformer", "Pooling", *(["Normalize"] if normalize else [])]
    paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize"}
    listed = [
        {
            "idx": i,
            "name": str(i),
            "path": paths.get(kind, f"{i}_{kind}"),
            "type": f"sentence_transformers.models.{kind}",
        }
        for i, kind in enumerate(kinds)
    ]
    (folder / "modules.json").write_text(json.dumps(listed), encoding="utf-8")
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 256}), encoding="utf-8")
    (folder / "1_Pooling").mkdir(exist_ok=True)
    config: dict[str, object] = {"word_embedding_dimension": dimension, "pooling_mode_mean_tokens": True}
    if pooling != "mean":
        config = {"embedding_dimension": dimension, "pooling_mode": pooling}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder
