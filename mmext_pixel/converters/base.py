"""The machinery of the official-checkpoint converters: an ordered table of
rename rules (the first whose pattern matches a whole key wins), keys left
out with a reason, every other unmatched key an error, and a BN counter for
every BN (zero where the file has none) so that the result loads strictly.
"""
import argparse
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from typing import (Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence, Tuple, Union)

import torch
from torch import Tensor, nn

from mmext_pixel.utils.checkpoint_fit import checkpoint_fit
from mmext_pixel.utils.model_builder import build_model

#: ``(pattern, replacement)``: a template for :meth:`re.Match.expand`
#: (``r'backbone.\1'``) or a function of the match.
Rule = Tuple[str, Union[str, Callable[[re.Match], str]]]
#: ``(pattern, reason)``: official keys left out of the conversion.
LeaveOut = Tuple[str, str]
#: ``(official key, value) -> value``, for tensors whose layout differs.
Reshape = Callable[[str, Tensor], Tensor]

UNSAFE_LOAD_OPTION = '--unsafe-load'
BN_COUNTER = 'num_batches_tracked'
#: An official ``Sequential(conv, BN, ...)`` index -> our ConvModule part.
CONV_BN = {'0': 'conv', '1': 'bn'}


class ConversionError(KeyError):
    """An official checkpoint that a converter cannot convert.

    Args:
        message (str): What is wrong, naming the keys at fault.
        keys (Sequence[str]): The keys at fault. Defaults to ().
    """

    def __init__(self, message: str, keys: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.keys = list(keys)

    def __str__(self) -> str:
        # KeyError's own str() is the repr of its argument
        return self.message


class UnknownKeysError(ConversionError):
    """Official keys that no rename rule matches."""


class MissingKeysError(ConversionError):
    """Keys the official model has that the checkpoint lacks."""


@dataclass
class Conversion:
    """The result of a converter.

    Args:
        state_dict (OrderedDict): Our keys and the converted tensors.
        left_out (dict): Official key -> why it was not converted. Defaults
            to an empty dict.
    """
    state_dict: 'OrderedDict[str, Tensor]'
    left_out: Dict[str, str] = field(default_factory=dict)

    def left_out_by_reason(self) -> Dict[str, List[str]]:
        """The left-out keys grouped by their reason, in key order."""
        grouped: Dict[str, List[str]] = {}
        for key, reason in self.left_out.items():
            grouped.setdefault(reason, []).append(key)
        return grouped


def strip_prefixes(
    state_dict: Mapping[str, Tensor], prefixes: Sequence[str] = ('module.', )
) -> 'OrderedDict[str, Tensor]':
    """Remove training-wrapper prefixes from the keys of a checkpoint.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.
        prefixes (Sequence[str]): Prefixes to remove, each at most once, in
            this order. Defaults to ``('module.', )``.
    """
    stripped = OrderedDict()
    for key, value in state_dict.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
        stripped[key] = value
    return stripped


def check_missing(state_dict: Mapping[str, Tensor], expected: Iterable[str],
                  what: str) -> None:
    """Raise :class:`MissingKeysError` naming every ``expected`` key that
    ``state_dict`` lacks; ``what`` names the model."""
    missing = [k for k in expected if k not in state_dict]
    if missing:
        raise MissingKeysError(f'{what}: missing keys: ' + ', '.join(missing),
                               missing)


def fold_conv_bias(state_dict: Mapping[str, Tensor], conv: str,
                   norm: str) -> 'OrderedDict[str, Tensor]':
    """Fold the official conv ``conv``'s bias into the running mean of the BN
    ``norm`` after it (BN(Wx + b), mean m = BN(Wx), mean m - b).

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.
        conv (str): The conv's official name.
        norm (str): The BN's official name.
    """
    state_dict = OrderedDict(state_dict)
    bias = state_dict.pop(f'{conv}.bias', None)
    if bias is not None:
        mean = f'{norm}.running_mean'
        if mean not in state_dict:
            raise MissingKeysError(
                f'{conv}.bias follows no BN: {mean} is missing', [mean])
        state_dict[mean] = state_dict[mean] - bias
    return state_dict


def add_bn_counters(
        state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Give every BN (a ``*.running_var`` key) a ``num_batches_tracked``
    counter, zero where it has none; existing counters are kept."""
    counted = OrderedDict()
    for key, value in state_dict.items():
        counted[key] = value
        if key.endswith('.running_var'):
            counter = key[:-len('running_var')] + BN_COUNTER
            if counter not in state_dict:
                counted[counter] = torch.tensor(0, dtype=torch.long)
    return counted


def convert_keys(state_dict: Mapping[str, Tensor],
                 rules: Sequence[Rule],
                 what: str,
                 leave_out: Sequence[LeaveOut] = (),
                 reshape: Optional[Reshape] = None) -> Conversion:
    """Rename every official key by the first rule that matches it.

    Args:
        state_dict (Mapping[str, Tensor]): Official keys, prefixes stripped.
        rules (Sequence[Rule]): Ordered ``(pattern, replacement)`` rules.
        what (str): The official model, for the messages.
        leave_out (Sequence[LeaveOut]): ``(pattern, reason)`` of the keys
            not to convert, tried first. Defaults to ().
        reshape (Reshape, optional): Changes a tensor's layout. Defaults to
            None.

    Raises:
        UnknownKeysError: Naming every key that no rule matches.
        ConversionError: Two keys renamed to the same key.
    """
    compiled = [(re.compile(p), r) for p, r in rules]
    skips = [(re.compile(p), reason) for p, reason in leave_out]
    converted, left_out, unknown = OrderedDict(), {}, []
    source: Dict[str, str] = {}
    for key, value in state_dict.items():
        reason = next((r for p, r in skips if p.fullmatch(key)), None)
        if reason is not None:
            left_out[key] = reason
            continue
        for pattern, replacement in compiled:
            match = pattern.fullmatch(key)
            if match:
                break
        else:
            unknown.append(key)
            continue
        new_key = (
            match.expand(replacement)
            if isinstance(replacement, str) else replacement(match))
        if new_key in source:
            raise ConversionError(
                f'{what}: {source[new_key]} and {key} would both become '
                f'{new_key}', [source[new_key], key])
        source[new_key] = key
        converted[new_key] = reshape(key, value) if reshape else value
    if unknown:
        raise UnknownKeysError(
            f'unknown keys, not {what} weights (no rule for): ' +
            ', '.join(unknown), unknown)
    return Conversion(add_bn_counters(converted), left_out)


def check_loads(state_dict: Mapping[str, Tensor], model: nn.Module) -> None:
    """Load ``state_dict`` strictly into ``model``, or raise
    :class:`ConversionError` naming the missing, unexpected and misshapen
    keys."""
    fit = checkpoint_fit(model, state_dict, revise_keys=())
    if not fit.fits:
        raise ConversionError(
            'converted checkpoint does not fit the model:\n' +
            fit.describe(max_keys=len(state_dict) + fit.num_model_keys),
            fit.missing + fit.unexpected)
    model.load_state_dict(state_dict, strict=True)


def load_official_state_dict(path: str, unsafe: bool = False) -> dict:
    """The state dict of an official checkpoint (the file or its
    ``'state_dict'``); RuntimeError naming :data:`UNSAFE_LOAD_OPTION` if
    refused, TypeError without a state dict.

    Args:
        path (str): The checkpoint.
        unsafe (bool): Read it with ``torch.load(weights_only=False)``.
            Defaults to False.
    """
    try:
        checkpoint = torch.load(
            path, map_location='cpu', weights_only=not unsafe)
    except Exception as error:  # torch raises several kinds
        if unsafe:
            raise
        raise RuntimeError(
            f'{path}: torch.load(weights_only=True) refused it ({error}); if '
            f'you trust the file, run again with {UNSAFE_LOAD_OPTION}'
        ) from error
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{path}: expected a state dict, got '
                        f'{type(checkpoint).__name__}')
    return checkpoint


def save_converted(state_dict: Mapping[str, Tensor], dst: str,
                   src: str) -> None:
    """Write converted weights to ``dst`` for ``load_checkpoint`` and
    ``init_model`` (which reads ``meta``), ``src`` in ``meta``."""
    torch.save(dict(state_dict=state_dict, meta=dict(converted_from=src)), dst)


def run_converter(description: str,
                  convert: Callable[..., Conversion],
                  argv: Optional[Sequence[str]] = None,
                  backbone_only: bool = False,
                  config: bool = False) -> Conversion:
    """A converter script: convert SRC, check it against ``--config``'s
    model if given, write DST and print what was left out, and why.

    Args:
        description (str): What the script converts.
        convert (Callable[..., Conversion]): The converter.
        argv (Sequence[str], optional): Defaults to None (``sys.argv``).
        backbone_only (bool): Offer ``--backbone-only`` (passed to
            ``convert``). Defaults to False.
        config (bool): Offer ``--config``. Defaults to False.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='converted checkpoint to write')
    if backbone_only:
        parser.add_argument(
            '--backbone-only',
            action='store_true',
            help='convert the ResNet trunk only, to bare backbone keys (for '
            'model.pretrained); fc.* is left out')
    parser.add_argument(
        UNSAFE_LOAD_OPTION,
        action='store_true',
        help='read SRC with torch.load(weights_only=False), for a file that '
        'the safe load refuses (runs pickled code: only for a trusted file)')
    if config:
        parser.add_argument(
            '--config', help='check that DST loads strictly into this config')
    args = parser.parse_args(argv)
    if backbone_only:
        convert = partial(convert, backbone_only=args.backbone_only)
    conversion = convert(load_official_state_dict(args.src, args.unsafe_load))
    if config and args.config:
        check_loads(conversion.state_dict, build_model(args.config))
        print(f'loads strictly into the model of {args.config}')
    save_converted(conversion.state_dict, args.dst, args.src)
    print(f'{args.src}: {len(conversion.state_dict)} tensors written to '
          f'{args.dst}')
    for reason, keys in conversion.left_out_by_reason().items():
        print(f'left out ({reason}): ' + ', '.join(keys))
    return conversion
