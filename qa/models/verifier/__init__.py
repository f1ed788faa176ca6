"""The answer verifier: a cross-encoder served on ONNX Runtime, and its model files beside it."""
