"""The torch-free serving path: ONNX Runtime sessions, the exported embedding graph and its export."""
