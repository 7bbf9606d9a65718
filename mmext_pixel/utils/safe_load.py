"""What ``import mmext_pixel`` allows torch's safe loader to read: mmengine
0.10.7 loads with torch >= 2.6's ``weights_only=True``, which refuses the
numpy and mmengine objects of its own training checkpoints (mmengine issue
#1655); exactly those are allow-listed, anything else is still refused."""
import builtins

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.utils import digit_version

_numpy_core = getattr(np, '_core', None) or np.core
_numpy_dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25

# the message hub's numpy logs (numpy 2 pickles dtype classes) and
# HistoryBuffer, whose methods pickle as getattr(HistoryBuffer, 'mean')
MMENGINE_CHECKPOINT_GLOBALS = (
    np.ndarray,
    np.dtype,
    _numpy_core.multiarray._reconstruct,
    _numpy_core.multiarray.scalar,
    HistoryBuffer,
    builtins.getattr,
) + tuple(cls for name, cls in vars(_numpy_dtypes or object).items()
          if name.endswith('DType') and isinstance(cls, type))

# numpy 2 renamed numpy.core to numpy._core; pickles name the module they
# were written with, and torch's allow-list matches names: both are listed
NUMPY_RENAMED_GLOBALS = tuple(
    (getattr(_numpy_core.multiarray, name), f'{module}.multiarray.{name}')
    for name in ('_reconstruct', 'scalar')
    for module in ('numpy.core', 'numpy._core'))


def allow_mmengine_checkpoint_globals() -> None:
    """Let torch >= 2.6's safe loader read mmengine training checkpoints,
    written with numpy 1 or 2."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 loads without a filter
        return
    add_safe_globals(list(MMENGINE_CHECKPOINT_GLOBALS))
    # only torch >= 2.6 takes (object, 'pickled.name') entries
    if digit_version(torch.__version__) >= digit_version('2.6.0'):
        add_safe_globals(list(NUMPY_RENAMED_GLOBALS))
