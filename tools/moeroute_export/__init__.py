"""Export Hugging Face MoE checkpoints to TorchScript files that moeroute can load and hook.

The entry point is tools/export_torchscript.py; docs/export.md describes the exporter, its
checks and the sidecar formats.
"""
