"""Checkpoints read with errors naming the file, loaded only if they fit:
mmengine reports an empty file as a bare ``EOFError``, a truncated one as a
zip error, and another model's as a warning (then tests a random model)."""
import logging
import os.path as osp
import pickle
import re
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)

# mmengine's default for Runner.load_checkpoint: DataParallel's prefix
DEFAULT_REVISE_KEYS = ((r'^module\.', ''), )
_BROKEN = 'truncated or not a torch checkpoint'


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or that does not fit."""


def check_checkpoint_file(filename: str) -> None:
    """Refuse a local checkpoint missing, empty, cut off, or not a zip
    archive or pickle.

    Args:
        filename (str): Its path; a URL is left to mmengine's loader.
    """
    if '://' in filename:
        return
    filename = osp.expanduser(filename)  # as mmengine's local loader does
    if not osp.isfile(filename):
        raise CheckpointError(f'checkpoint {filename}: no such file')
    if osp.getsize(filename) == 0:
        raise CheckpointError(f'checkpoint {filename}: empty file (0 bytes)')
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head == b'PK\x03\x04':
        if not zipfile.is_zipfile(filename):
            raise CheckpointError(
                f'checkpoint {filename}: {_BROKEN} (a zip archive without '
                'its end: the file was cut off)')
    elif not head.startswith(b'\x80'):  # a legacy file's pickle protocol
        raise CheckpointError(f'checkpoint {filename}: {_BROKEN} (neither '
                              'a zip archive nor a pickle)')


def read_checkpoint(filename: str,
                    map_location: Union[str, Callable] = 'cpu') -> dict:
    """mmengine's ``_load_checkpoint``; a :class:`CheckpointError` names a
    file refused by :func:`check_checkpoint_file` or ``torch.load``.

    Args:
        filename (str): Local path, URL or mmengine ``scheme://`` name.
        map_location (str | Callable): As torch.load's. Defaults to 'cpu'.
    """
    check_checkpoint_file(filename)
    try:
        return _load_checkpoint(filename, map_location=map_location)
    except Exception as e:
        if not _is_broken_file_error(e):
            raise
        raise CheckpointError(f'checkpoint {filename}: {_BROKEN} '
                              f'({type(e).__name__}: {e})') from e


def _is_broken_file_error(error: Exception) -> bool:
    """Whether ``torch.load`` failed on the bytes, not on a refused global."""
    if isinstance(error,
                  (EOFError, IndexError, struct.error, zipfile.BadZipFile)):
        return True  # the unpickler ran out of bytes
    if isinstance(error, pickle.UnpicklingError):
        return 'global' not in str(error).lower()
    # a legacy file cut in a tensor, or a zip with its central directory
    return isinstance(error, RuntimeError) and ('EOF' in str(error)
                                                or 'zip archive' in str(error))


@dataclass
class CheckpointFit:
    """How a checkpoint's weights match a model's.

    Args:
        mismatched (list[tuple[str, tuple, tuple]]): Keys with another
            shape, the checkpoint's and the model's. Defaults to [].
        missing (list[str]): Model keys the checkpoint lacks (BN's
            ``num_batches_tracked`` aside, as in mmengine). Defaults to [].
        unexpected (list[str]): Keys the model lacks. Defaults to [].
        num_model_keys (int): The model's state-dict size. Defaults to 0.
    """
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    num_model_keys: int = 0

    @property
    def fits(self) -> bool:
        return not (self.mismatched or self.missing or self.unexpected)

    def describe(self, max_keys: int = 5) -> str:
        """One line per kind of misfit, with its count and first keys.

        Args:
            max_keys (int): Keys listed per kind. Defaults to 5.
        """
        kinds = (('with another shape', [
            f'{k} (checkpoint {tuple(a)}, model {tuple(b)})'
            for k, a, b in self.mismatched
        ]), ('missing from the checkpoint', self.missing),
                 ('unexpected (not in the model)', self.unexpected))
        lines = []
        for what, keys in kinds:
            if keys:
                more = len(keys) - max_keys
                lines.append(f'{len(keys)} {what}: ' +
                             ', '.join(keys[:max_keys]) +
                             (f', ... ({more} more)' if more > 0 else ''))
        return '\n'.join(lines)


def bare_model(model: nn.Module) -> nn.Module:
    """The model inside DDP-style and TTA wrappers (a checkpoint's keys)."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def checkpoint_fit(
    model: nn.Module,
    checkpoint: dict,
    revise_keys: Sequence[Tuple[str,
                                str]] = DEFAULT_REVISE_KEYS) -> CheckpointFit:
    """A checkpoint's weights against a model's, as mmengine's
    ``_load_checkpoint_to_model`` loads them.

    Args:
        model (nn.Module): The model, possibly wrapped (DDP, TTA).
        checkpoint (dict): A state dict, or one under ``'state_dict'``.
        revise_keys (Sequence[tuple[str, str]]): Regex replacements of the
            checkpoint's keys. Defaults to stripping ``module.``.
    """
    weights = checkpoint.get('state_dict', checkpoint)
    for pattern, repl in revise_keys:
        weights = {re.sub(pattern, repl, k): v for k, v in weights.items()}
    own = bare_model(model).state_dict()
    fit = CheckpointFit(num_model_keys=len(own))
    for key, value in weights.items():
        if key not in own:
            fit.unexpected.append(key)
        elif hasattr(value, 'shape') and value.shape != own[key].shape:
            fit.mismatched.append(
                (key, tuple(value.shape), tuple(own[key].shape)))
    fit.missing = [
        key for key in own
        if key not in weights and not key.endswith('num_batches_tracked')
    ]
    return fit


def load_fitting(model: nn.Module,
                 checkpoint: dict,
                 filename: str,
                 model_name: str = 'the model',
                 allow_partial: bool = False,
                 revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS,
                 logger: Optional[logging.Logger] = None) -> CheckpointFit:
    """Load a checkpoint into a model if it fits; else a
    :class:`CheckpointError`, or with ``allow_partial`` what fits and one
    warning (not mmengine's full key listing).

    Args:
        model (nn.Module): The model, possibly wrapped (DDP, TTA).
        checkpoint (dict): The loaded checkpoint.
        filename (str): Its file, for messages.
        model_name (str): For messages. Defaults to 'the model'.
        allow_partial (bool): Load what fits of a misfit. Defaults to False.
        revise_keys (Sequence[tuple[str, str]]): As for
            :func:`checkpoint_fit`. Defaults to stripping ``module.``.
        logger (logging.Logger, optional): Defaults to None (current).
    """
    fit = checkpoint_fit(model, checkpoint, revise_keys)
    if not fit.fits:
        if not allow_partial:
            raise CheckpointError(f'checkpoint {filename} does not fit '
                                  f'{model_name}:\n{fit.describe()}')
        print_log(
            f'checkpoint {filename} was loaded partly (the model has '
            f'{fit.num_model_keys} state-dict entries); not loaded:\n' +
            fit.describe(),
            logger=logger or 'current',
            level=logging.WARNING)
    _load_checkpoint_to_model(
        bare_model(model),
        checkpoint,
        strict=False,
        logger='silent',
        revise_keys=revise_keys)
    return fit
