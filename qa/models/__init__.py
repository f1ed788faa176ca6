"""The models: the embedder seam, the ONNX serving path and its export, the answer verifier."""
