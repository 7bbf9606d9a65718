"""Reading a checkpoint file with errors that name it, and checking that it
fits the model before its weights are loaded.

mmengine's loader reports an empty file as a bare ``EOFError``, a truncated
one as a zip-reader error, and a checkpoint of another model only as a
warning, after which a test evaluates a mostly random model.
:func:`read_checkpoint` and :func:`checkpoint_fit` are the leaves that
:class:`mmext_pixel.engine.FitCheckedRunner` and the model builder load
through.
"""
import os.path as osp
import pickle
import re
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Callable, List, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint

# mmengine's default for Runner.load_checkpoint: DataParallel's prefix
DEFAULT_REVISE_KEYS = ((r'^module\.', ''), )
_ZIP_MAGIC = b'PK\x03\x04'  # torch >= 1.6 saves a zip archive
_PICKLE_MAGIC = b'\x80'  # the legacy format starts with a pickle protocol
_BROKEN = 'truncated or not a torch checkpoint'


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or that does not fit."""


def check_checkpoint_file(filename: str) -> None:
    """Cheap checks of a local checkpoint file before it is loaded.

    Args:
        filename (str): Path of the file; a URL or ``scheme://`` name is
            left to mmengine's loader.

    Raises:
        CheckpointError: The file is missing or empty, is neither a zip
            archive nor a pickle, or is a zip archive without its central
            directory (cut off).
    """
    if '://' in filename:
        return
    filename = osp.expanduser(filename)  # as mmengine's local loader does
    if not osp.isfile(filename):
        raise CheckpointError(f'checkpoint {filename}: no such file')
    if osp.getsize(filename) == 0:
        raise CheckpointError(f'checkpoint {filename}: empty file (0 bytes)')
    with open(filename, 'rb') as f:
        head = f.read(len(_ZIP_MAGIC))
    if head.startswith(_ZIP_MAGIC):
        if not zipfile.is_zipfile(filename):
            raise CheckpointError(
                f'checkpoint {filename}: {_BROKEN} (a zip archive without '
                'its end: the file was cut off)')
    elif not head.startswith(_PICKLE_MAGIC):
        raise CheckpointError(f'checkpoint {filename}: {_BROKEN} (neither '
                              'a zip archive nor a pickle)')


def read_checkpoint(filename: str,
                    map_location: Union[str, Callable] = 'cpu') -> dict:
    """mmengine's ``_load_checkpoint`` with errors that name the file.

    Args:
        filename (str): Local path, URL or mmengine ``scheme://`` name.
        map_location (str | Callable): As for ``torch.load``. Defaults to
            ``'cpu'``.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointError: The file is empty, truncated or no torch checkpoint
            (see :func:`check_checkpoint_file`).
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
    """Whether ``torch.load`` failed on the bytes rather than refusing an
    intact file (the safe loader names the global it refused)."""
    if isinstance(error,
                  (EOFError, IndexError, struct.error, zipfile.BadZipFile)):
        return True  # the unpickler ran out of bytes
    if isinstance(error, pickle.UnpicklingError):
        return 'global' not in str(error).lower()
    if isinstance(error, RuntimeError):
        # a legacy file cut inside a tensor's bytes, or a damaged zip
        # archive whose central directory survived
        return 'EOF' in str(error) or 'zip archive' in str(error)
    return False


@dataclass
class CheckpointFit:
    """How a checkpoint's weights match a model's.

    Args:
        mismatched (list[tuple[str, tuple, tuple]]): Keys of both whose
            shapes differ, with the checkpoint's and the model's shape.
            Defaults to an empty list.
        missing (list[str]): Model keys the checkpoint lacks (BN's
            ``num_batches_tracked`` aside, as mmengine's loader ignores
            them). Defaults to an empty list.
        unexpected (list[str]): Checkpoint keys the model lacks. Defaults to
            an empty list.
        num_model_keys (int): Entries of the model's state dict. Defaults
            to 0.
    """
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    num_model_keys: int = 0

    @property
    def fits(self) -> bool:
        return not (self.mismatched or self.missing or self.unexpected)

    def describe(self, max_keys: int = 5) -> str:
        """One line per kind of misfit, each with its count and first keys.

        Args:
            max_keys (int): Keys listed per kind. Defaults to 5.
        """

        def first(items):
            more = len(items) - max_keys
            return ', '.join(items[:max_keys]) + (f', ... ({more} more)'
                                                  if more > 0 else '')

        lines = []
        if self.mismatched:
            lines.append(f'{len(self.mismatched)} with another shape: ' +
                         first([
                             f'{k} (checkpoint {tuple(a)}, model {tuple(b)})'
                             for k, a, b in self.mismatched
                         ]))
        if self.missing:
            lines.append(f'{len(self.missing)} missing from the checkpoint: ' +
                         first(self.missing))
        if self.unexpected:
            lines.append(f'{len(self.unexpected)} unexpected (not in the '
                         'model): ' + first(self.unexpected))
        return '\n'.join(lines)


def bare_model(model: nn.Module) -> nn.Module:
    """The model inside DDP-style and test-time-augmentation wrappers, whose
    state dict is what a checkpoint holds."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def checkpoint_fit(
    model: nn.Module,
    checkpoint: dict,
    revise_keys: Sequence[Tuple[str,
                                str]] = DEFAULT_REVISE_KEYS) -> CheckpointFit:
    """Compare a checkpoint's weights with a model's, as mmengine's
    ``_load_checkpoint_to_model`` would load them.

    Args:
        model (nn.Module): The model, possibly wrapped (DDP, TTA).
        checkpoint (dict): A loaded checkpoint: a state dict, or a dict with
            one under ``'state_dict'``.
        revise_keys (Sequence[tuple[str, str]]): Regex replacements applied
            to the checkpoint's keys first. Defaults to stripping
            ``module.``.

    Returns:
        CheckpointFit: The mismatched, missing and unexpected keys.
    """
    weights = checkpoint.get('state_dict', checkpoint)
    for pattern, replacement in revise_keys:
        weights = {
            re.sub(pattern, replacement, k): v
            for k, v in weights.items()
        }
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
