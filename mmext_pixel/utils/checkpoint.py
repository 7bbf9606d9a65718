import builtins
from collections import OrderedDict
from typing import Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

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


def strip_prefixes(state_dict: dict, prefixes=('module.', )) -> OrderedDict:
    """Remove training-wrapper prefixes (e.g. DataParallel's ``module.``)
    from the keys of an official checkpoint, each prefix at most once, in
    the given order."""
    stripped = OrderedDict()
    for key, value in state_dict.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
        stripped[key] = value
    return stripped


def load_official_state_dict(path: str,
                             unsafe: bool = False,
                             unsafe_option: Optional[str] = None) -> dict:
    """The state dict of an official checkpoint file, for the converters.

    Read with ``torch.load(weights_only=True)`` unless ``unsafe``; the state
    dict is the file itself or its ``'state_dict'`` entry.

    Raises:
        RuntimeError: the safe loader refused the file (naming it and, if
            the converter has one, ``unsafe_option`` to load it anyway).
        TypeError: the file holds no state dict.
    """
    try:
        checkpoint = torch.load(
            path, map_location='cpu', weights_only=not unsafe)
    except Exception as error:  # torch raises several kinds
        if unsafe:
            raise
        hint = (f'; if you trust the file, run again with {unsafe_option}'
                if unsafe_option else '')
        raise RuntimeError(f'{path}: torch.load(weights_only=True) refused '
                           f'it ({error}){hint}') from error
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{path}: expected a state dict, got '
                        f'{type(checkpoint).__name__}')
    return checkpoint


def save_converted(state_dict: dict, dst: str, src: str) -> None:
    """Write a converted state dict as a checkpoint that mmengine's
    ``load_checkpoint`` and ``mmseg.apis.init_model`` (which reads
    ``meta``) accept."""
    torch.save(dict(state_dict=state_dict, meta=dict(converted_from=src)), dst)
