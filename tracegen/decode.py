"""`tracegen.decode`: the KV-trimming decoder under the name DESIGN.md section 7 gives it.

The implementation lives in the `tracegen.decoding` package (decoder loop, cache slots, row
state, token choice, results); this module is the stable import path for users.
"""

from tracegen.decoding import DecodeResult, ForceUndo, decode, trace_segments

__all__ = ["DecodeResult", "ForceUndo", "decode", "trace_segments"]
