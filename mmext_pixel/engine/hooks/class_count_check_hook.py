"""The model's class counts against its datasets', before the first step."""
import re
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import BaseLoop

from mmext_pixel.models.backbones import GSTOHRNet
from mmext_pixel.utils.checkpoint_fit import bare_model


class ClassCountError(ValueError):
    """A head, a class weight or a dataset disagrees on the class count."""


def _heads(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """(config key, head), ``key[i]`` for each of an ``nn.ModuleList``."""
    heads = []
    for name in ('decode_head', 'auxiliary_head', 'head'):
        module = getattr(model, name, None)
        if isinstance(module, nn.ModuleList):
            heads += [(f'model.{name}[{i}]', m) for i, m in enumerate(module)]
        elif isinstance(module, nn.Module):
            heads.append((f'model.{name}', module))
    return heads


def _dataset_count(dataset, pose: bool) -> Optional[Tuple[int, str]]:
    """The metainfo's class (seg) or keypoint (pose) count and its name, or
    None."""
    metainfo = getattr(dataset, 'metainfo', None) or {}
    if pose:
        num = metainfo.get('num_keypoints')
        return None if num is None else (int(num), f'num_keypoints={num}')
    classes = metainfo.get('classes')
    if classes is None:
        return None
    return len(classes), f'classes={len(classes)} {tuple(classes)}'


def _class_weights(head_key: str, head: nn.Module) -> List[Tuple[str, int]]:
    """(config key, length) of every ``class_weight`` of the head's losses."""
    found = []
    for name, module in head.named_modules():
        weight = getattr(module, 'class_weight', None)
        if weight is None or isinstance(weight, (str, bytes)):
            continue
        try:
            length = len(weight)
        except TypeError:
            continue
        # 'loss_decode.1' -> 'loss_decode[1]', as the config writes it
        name = re.sub(r'\.(\d+)(?=\.|$)', r'[\1]', name)
        found.append((f'{head_key}.{name}.class_weight'
                      if name else f'{head_key}.class_weight', length))
    return found


def check_class_counts(model: nn.Module,
                       datasets: Sequence[Tuple[str, object]]) -> None:
    """Compare the heads' class counts (``num_classes``, where
    ``out_channels=1`` means one or two; pose: ``out_channels``), every
    loss's ``class_weight`` and :class:`GSTOHRNet`'s ``num_classes`` with
    the datasets' metainfo (``classes``; pose: ``num_keypoints``);
    :class:`ClassCountError` lists each disagreement.

    Args:
        model (nn.Module): The model, possibly wrapped (DDP, TTA).
        datasets (Sequence[tuple[str, Any]]): ``(config key, built
            dataset)`` pairs, e.g. ``('train_dataloader.dataset', ds)``.
    """
    model = bare_model(model)
    heads = _heads(model)
    pose = any(key == 'model.head' and not hasattr(head, 'num_classes')
               for key, head in heads)
    counted = []  # (dataset key, type name, count, description)
    for key, dataset in datasets:
        count = _dataset_count(dataset, pose)
        if count is not None:
            counted.append((key, type(dataset).__name__) + count)
    problems = [
        f'{key} ({kind}) has {desc}, but {counted[0][0]} ({counted[0][1]}) '
        f'has {counted[0][3]}' for key, kind, num, desc in counted[1:]
        if num != counted[0][2]
    ]

    def compare(model_key: str, value: int, what: str, binary: bool = False):
        problems.extend(f'{model_key}{what}, but {key} ({kind}) has {desc}'
                        for key, kind, num, desc in counted
                        if num != value and not (binary and num in (1, 2)))

    backbone = getattr(model, 'backbone', None)
    if isinstance(backbone, GSTOHRNet):
        # its intermediate predictions are supervised with the labels
        compare('model.backbone.num_classes', backbone.num_classes,
                f'={backbone.num_classes}')
    for head_key, head in heads:
        num_classes = getattr(head, 'num_classes', None)
        out_channels = getattr(head, 'out_channels', None)
        if num_classes is None:  # a pose heatmap head
            if isinstance(out_channels, int):
                compare(f'{head_key}.out_channels', out_channels,
                        f'={out_channels}')
            continue
        binary = out_channels == 1
        compare(
            f'{head_key}.num_classes',
            num_classes,
            f'={num_classes}' + (' (out_channels=1)' if binary else ''),
            binary=binary)
        if binary:
            continue  # a sigmoid loss weighs no class list
        for weight_key, length in _class_weights(head_key, head):
            if length != num_classes:
                problems.append(f'{weight_key} has {length} entries, but '
                                f'{head_key}.num_classes={num_classes}')
            compare(weight_key, length, f' has {length} entries')
    if problems:
        raise ClassCountError(
            'class counts disagree (fix the config before training):\n  ' +
            '\n  '.join(dict.fromkeys(problems)))


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Stop a run whose model and datasets disagree on the class count
    (:func:`check_class_counts`) at ``before_run``, before weights load."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        datasets = []
        for split in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{split}_loop', None)
            if isinstance(loop, BaseLoop) and hasattr(loop, 'dataloader'):
                datasets.append(
                    (f'{split}_dataloader.dataset', loop.dataloader.dataset))
        check_class_counts(runner.model, datasets)
