"""What ``import mmext_pixel`` allows torch's safe loader to read.

torch >= 2.6 loads with ``weights_only=True`` by default and refuses the
numpy and mmengine objects that mmengine's own training checkpoints hold;
this module allow-lists exactly those, at import time.
"""
import builtins

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.utils import digit_version

_numpy_core = getattr(np, '_core', None) or np.core
_numpy_dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
_DTYPE_CLASSES = tuple(cls for name, cls in vars(_numpy_dtypes).items()
                       if name.endswith('DType')
                       and isinstance(cls, type)) if _numpy_dtypes else ()

# Every global that a checkpoint written by mmengine's CheckpointHook (and
# therefore by our training) refers to, besides what torch allows already:
# numpy arrays and scalars in the message hub's logs (with their dtype
# classes, which numpy 2 pickles by class), and mmengine's
# HistoryBuffer. The HistoryBuffer pickles its statistics methods by name as
# getattr(HistoryBuffer, 'mean'), hence builtins.getattr; the restricted
# unpickler still refuses to call anything getattr returns unless that object
# is itself allow-listed.
MMENGINE_CHECKPOINT_GLOBALS = (
    np.ndarray,
    np.dtype,
    _numpy_core.multiarray._reconstruct,
    _numpy_core.multiarray.scalar,
    HistoryBuffer,
    builtins.getattr,
) + _DTYPE_CLASSES

# numpy 2 moved numpy.core to numpy._core, and a pickle names a function by
# the module it lived in when the file was written: the official checkpoints
# and any checkpoint written under numpy 1 say numpy.core.multiarray.*.
# torch's allow-list matches names, so both spellings are listed.
NUMPY_RENAMED_GLOBALS = tuple(
    (getattr(_numpy_core.multiarray, name), f'{module}.multiarray.{name}')
    for name in ('_reconstruct', 'scalar')
    for module in ('numpy.core', 'numpy._core'))


def _safe_globals_take_names() -> bool:
    """torch >= 2.6 accepts ``(object, 'pickled.name')`` allow-list
    entries; older versions would fail on them at load time."""
    return digit_version(torch.__version__) >= digit_version('2.6.0')


def allow_mmengine_checkpoint_globals() -> None:
    """Let torch >= 2.6's safe loader read mmengine training checkpoints.

    mmengine 0.10.7 loads checkpoints with ``torch.load``'s default
    ``weights_only=True`` (torch >= 2.6), which rejects the numpy and
    mmengine objects that its own checkpoints hold, so ``--resume`` and
    ``load_from`` fail with ``UnpicklingError`` (mmengine issue #1655). Rather
    than turning the safe loader off, this allow-lists exactly those globals.
    A file that needs anything else is still refused. The numpy functions
    are also allowed under their numpy 1 names (:data:`NUMPY_RENAMED_GLOBALS`)
    so that files written with either numpy load with the other.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 loads without a filter
        return
    add_safe_globals(list(MMENGINE_CHECKPOINT_GLOBALS))
    if _safe_globals_take_names():
        add_safe_globals(list(NUMPY_RENAMED_GLOBALS))
