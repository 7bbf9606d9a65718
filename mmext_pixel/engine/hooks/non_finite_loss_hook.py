"""Stop training at the first non-finite loss, and never save one's result."""
import math
from typing import Dict, Iterator, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop

#: The config key that turns the check off (``--cfg-options
#: check_finite_loss=False``); the hook is on when the key is absent.
SWITCH = 'check_finite_loss'


class NonFiniteLossError(FloatingPointError):
    """A loss term, or the weights after a step, became NaN or infinite."""


def _float(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None
        return float(value.detach().float().cpu())
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _tensors(tree, prefix: str = '') -> Iterator[Tuple[str, torch.Tensor]]:
    if isinstance(tree, torch.Tensor):
        yield prefix, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from _tensors(value,
                                f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from _tensors(value, f'{prefix}[{i}]')


def non_finite_tensors(tree) -> Tuple[int, int, Optional[str]]:
    """Count the non-finite values among the floating-point tensors of a
    nested dict/list (a checkpoint).

    Args:
        tree: A tensor, or dicts and lists of them (other leaves ignored).

    Returns:
        tuple[int, int, str | None]: Non-finite values, all values, and the
        key of the first tensor holding one.
    """
    bad, total, first = 0, 0, None
    for key, tensor in _tensors(tree):
        if not tensor.is_floating_point():
            continue
        n = int((~torch.isfinite(tensor)).sum())
        total += tensor.numel()
        if n:
            bad += n
            first = first or key
    return bad, total, first


def _describe(losses: Dict[str, float]) -> str:
    return ', '.join(f'{k}={v:.6g}' for k, v in losses.items())


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first iteration whose loss is NaN or infinite.

    After each training step the loss terms of the model's output (the
    entries whose name contains ``loss``, as mmengine sums them) are
    checked; a non-finite one raises :class:`NonFiniteLossError` naming the
    iteration and every term with its value, before any later hook (the
    checkpoint hook included) runs. Every checkpoint about to be saved is
    checked as well, so that weights or optimizer state that a step with a
    huge but finite loss made non-finite are never written, whichever hook
    saves them. Under AMP, a step that the loss scaler skips because the
    gradients overflowed is no error: its loss is finite.

    The check is on unless the config sets ``check_finite_loss = False``.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.enabled = True
        self._last: Optional[Tuple[str, Dict[str, float]]] = None

    def before_run(self, runner) -> None:
        cfg = getattr(runner, 'cfg', None) or {}
        self.enabled = bool(cfg.get(SWITCH, True))
        if not self.enabled:
            runner.logger.warning(
                f'{SWITCH}=False: training goes on after a non-finite loss '
                'and may save non-finite checkpoints')

    @staticmethod
    def _where(runner) -> str:
        where = f'iteration {runner.iter + 1}'
        if isinstance(
                getattr(runner, '_train_loop', None), EpochBasedTrainLoop):
            where += f' (epoch {runner.epoch + 1})'
        return where

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self.enabled or not isinstance(outputs, dict):
            return
        losses = {}
        for key, value in outputs.items():
            number = _float(value) if 'loss' in key else None
            if number is not None:
                losses[key] = number
        where = self._where(runner)
        self._last = (where, losses)
        if all(math.isfinite(v) for v in losses.values()):
            return
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        raise NonFiniteLossError(
            f'non-finite loss at {where}: {_describe(losses)} (non-finite: '
            f'{", ".join(bad)}). Training stops here and saves nothing more; '
            'lower the learning rate or clip gradients '
            '(optim_wrapper.clip_grad), or set check_finite_loss=False to '
            'train on regardless')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.enabled:
            return
        for part in ('state_dict', 'optimizer'):
            bad, total, first = non_finite_tensors(checkpoint.get(part))
            if not bad:
                continue
            after = ''
            if self._last is not None:
                after = (f' after the step of {self._last[0]} (losses '
                         f'{_describe(self._last[1])})')
            raise NonFiniteLossError(
                f'the checkpoint\'s {part} holds {bad} non-finite values of '
                f'{total} (the first in {first}){after}: the run diverged; '
                'nothing is saved. Lower the learning rate or clip gradients '
                '(optim_wrapper.clip_grad)')
