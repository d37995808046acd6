"""Files: fitted state, persistence (safetensors + JSON), ONNX export and runtime, atomic writes.

:mod:`.runtime` and :mod:`.state` never import torch: an edge service reads ONNX files with
numpy and onnxruntime alone.
"""
