"""Official checkpoints of the ported methods to our models' keys.

One module per method holds its rename rules (``gsto``, ``hrnet``,
``gscnn``, ``gald_dgcn``, ``spnet``); :mod:`.base` is the rule engine and
the file handling they share. The scripts in ``tools/model_converters`` are
their command lines.
"""
from .base import (Conversion, ConversionError, MissingKeysError,
                   UnknownKeysError, check_loads, convert_keys,
                   load_official_state_dict, run_converter, save_converted,
                   strip_prefixes)

__all__ = [
    'Conversion', 'ConversionError', 'MissingKeysError', 'UnknownKeysError',
    'check_loads', 'convert_keys', 'load_official_state_dict', 'run_converter',
    'save_converted', 'strip_prefixes'
]
