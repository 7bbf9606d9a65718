import builtins

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_numpy_core = getattr(np, '_core', None) or np.core
_numpy_dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
_DTYPE_CLASSES = tuple(
    cls for name, cls in vars(_numpy_dtypes).items()
    if name.endswith('DType') and isinstance(cls, type)) if _numpy_dtypes else ()

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


def allow_mmengine_checkpoint_globals() -> None:
    """Let torch >= 2.6's safe loader read mmengine training checkpoints.

    mmengine 0.10.7 loads checkpoints with ``torch.load``'s default
    ``weights_only=True`` (torch >= 2.6), which rejects the numpy and
    mmengine objects that its own checkpoints hold, so ``--resume`` and
    ``load_from`` fail with ``UnpicklingError`` (mmengine issue #1655). Rather
    than turning the safe loader off, this allow-lists exactly those globals.
    A file that needs anything else is still refused.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:  # torch < 2.4 loads without a filter
        add_safe_globals(list(MMENGINE_CHECKPOINT_GLOBALS))
