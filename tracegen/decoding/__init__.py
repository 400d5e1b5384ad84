"""The KV-trimming decoder (DESIGN.md section 4): `decode` for any transformers causal LM, soft and hard modes."""

from tracegen.decoding.decoder import ForceUndo, decode
from tracegen.decoding.result import DecodeResult, trace_segments

__all__ = ["DecodeResult", "ForceUndo", "decode", "trace_segments"]
