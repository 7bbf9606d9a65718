"""Stop training at the first non-finite loss, never save one's result, and
record which checkpoints the divergence before it spoiled."""
import math
import os.path as osp
import time
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop

from mmext_pixel.utils.checkpoint_files import resume_candidates

from ..diverged_checkpoints import (RECORD_NAME, LossRange, read_record,
                                    record_diverged, split_candidates,
                                    spoiled_from)

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


def _total(losses: Dict[str, float]) -> Optional[float]:
    """The loss that is optimised: mmengine's ``loss`` sum, else the sum of
    the terms."""
    if 'loss' in losses:
        return losses['loss']
    return sum(losses.values()) if losses else None


def _names(paths: List[str]) -> str:
    folders = {osp.dirname(p) for p in paths}
    if len(folders) == 1:
        return ', '.join(osp.basename(p) for p in paths) + \
            f' (in {folders.pop()})'
    return ', '.join(paths)


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

    When it stops the run, it works out from the loss history when the run
    began to diverge (:mod:`mmext_pixel.engine.diverged_checkpoints`: the
    first iteration of the final stretch of losses more than
    ``diverge_factor`` times the median of the ``diverge_window`` in-range
    losses before), lists the checkpoints this run saved since in
    ``WORK_DIR/diverged_checkpoints.json`` so that ``tools/train.py
    --resume`` passes over them, and names in its message the checkpoint
    that ``--resume`` takes instead.

    The check is on unless the config sets ``check_finite_loss = False``.

    Args:
        diverge_factor (float): A loss more than this many times the
            median of the recent ones has left its range. Defaults to 2.0.
        diverge_window (int): How many recent in-range losses make that
            median. Defaults to 50.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 diverge_factor: float = 2.0,
                 diverge_window: int = 50) -> None:
        self.enabled = True
        self._last: Optional[Tuple[str, Dict[str, float]]] = None
        self.loss_range = LossRange(diverge_factor, diverge_window)
        # path -> (meta iteration, time the save began) of this run's saves
        self._saved: Dict[str, Tuple[int, float]] = {}

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
        total = _total(losses)
        if total is not None:
            self.loss_range.update(runner.iter + 1, total)
        if all(math.isfinite(v) for v in losses.values()):
            return
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        raise NonFiniteLossError(
            f'non-finite loss at {where}: {_describe(losses)} (non-finite: '
            f'{", ".join(bad)}). Training stops here and saves nothing more; '
            'lower the learning rate or clip gradients '
            '(optim_wrapper.clip_grad), or set check_finite_loss=False to '
            'train on regardless.\n' + self._resume_note(runner))

    def _spoiled_saves(self, first_spoiled: int) -> List[Tuple[int, str]]:
        spoiled = []
        for path, (iteration, began) in self._saved.items():
            # a file older than the save names another checkpoint (a
            # stale ``last_ckpt``); allow the file clock's coarse tick
            if iteration >= first_spoiled and osp.isfile(path) and \
                    osp.getmtime(path) >= began - 0.05:
                spoiled.append((iteration, path))
        return sorted(spoiled)

    def _resume_note(self, runner) -> str:
        """Record the checkpoints saved while the loss diverged and say
        which one ``--resume`` takes."""
        last_iter = self.loss_range.last_iter or runner.iter + 1
        first_spoiled = spoiled_from(self.loss_range.onset(), last_iter)
        work_dir = runner.work_dir
        spoiled = self._spoiled_saves(first_spoiled)
        how = self.loss_range.describe()
        if spoiled and is_main_process():
            record_diverged(
                work_dir, spoiled, f'{how}; the run stopped at '
                f'iteration {last_iter}')
        record = osp.join(work_dir, RECORD_NAME)
        if spoiled:
            note = (f'{how}. The checkpoints saved since, '
                    f'{_names([p for _, p in spoiled])}, are listed in '
                    f'{record} and --resume passes over them')
        else:
            note = f'{how}. No checkpoint was saved since'
        sound, _ = split_candidates(
            resume_candidates(work_dir), read_record(work_dir))
        if sound:
            return note + (f'; resume from {sound[0]} (tools/train.py '
                           '--resume takes it) with a lower learning rate')
        return note + ('; no checkpoint from before remains, so '
                       'tools/train.py --resume starts from the beginning')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.enabled:
            return
        began = time.time()
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
                '(optim_wrapper.clip_grad).\n' + self._resume_note(runner))
        # CheckpointHook names the file it is about to write in
        # ``last_ckpt``; a save that does not (a best checkpoint) leaves the
        # previous name there, which is already known or older than now
        path = runner.message_hub.get_info('last_ckpt')
        meta = checkpoint.get('meta') or {}
        if isinstance(path, str) and path not in self._saved and \
                'iter' in meta and '://' not in path:
            self._saved[path] = (int(meta['iter']), began)
