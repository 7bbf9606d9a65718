"""Official checkpoints to our models' keys: one module of rename rules per
method, :mod:`.base` the engine they share, ``tools/model_converters`` the
command lines."""
from .base import (Conversion, ConversionError, MissingKeysError,
                   UnknownKeysError, check_loads, convert_keys,
                   load_official_state_dict, run_converter, save_converted,
                   strip_prefixes)

__all__ = [
    'Conversion', 'ConversionError', 'MissingKeysError', 'UnknownKeysError',
    'check_loads', 'convert_keys', 'load_official_state_dict', 'run_converter',
    'save_converted', 'strip_prefixes'
]
