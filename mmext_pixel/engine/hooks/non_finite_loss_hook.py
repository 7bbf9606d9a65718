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

#: The config key that turns the check off; on when absent.
SWITCH = 'check_finite_loss'


class NonFiniteLossError(FloatingPointError):
    """A loss term, or the weights after a step, became NaN or infinite."""


def _float(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().cpu()) \
            if value.numel() == 1 else None
    return float(value) if isinstance(value, (int, float)) else None


def _tensors(tree, prefix: str = '') -> Iterator[Tuple[str, torch.Tensor]]:
    if isinstance(tree, torch.Tensor):
        yield prefix, tree
    elif isinstance(tree, (dict, list, tuple)):
        items = tree.items() if isinstance(tree, dict) else enumerate(tree)
        for key, value in items:
            yield from _tensors(value,
                                (f'{prefix}.{key}' if prefix else str(key)) if
                                isinstance(tree, dict) else f'{prefix}[{key}]')


def non_finite_tensors(tree) -> Tuple[int, int, Optional[str]]:
    """Non-finite values, all values, and the key of the first tensor with
    one, among the floating-point tensors of nested dicts and lists (a
    checkpoint); other leaves are ignored."""
    bad, total, first = 0, 0, None
    for key, tensor in _tensors(tree):
        if tensor.is_floating_point():
            n = int((~torch.isfinite(tensor)).sum())
            total += tensor.numel()
            bad += n
            first = first or (key if n else None)
    return bad, total, first


def _describe(losses: Dict[str, float]) -> str:
    return ', '.join(f'{k}={v:.6g}' for k, v in losses.items())


def _names(paths: List[str]) -> str:
    folders = {osp.dirname(p) for p in paths}
    if len(folders) == 1:
        return ', '.join(osp.basename(p) for p in paths) + \
            f' (in {folders.pop()})'
    return ', '.join(paths)


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop at the first NaN or infinite loss (before the checkpoint hook),
    refuse checkpoints with non-finite values, and list those saved while
    diverging for ``--resume`` to pass over; ``check_finite_loss = False``
    turns it off.

    Args:
        diverge_factor (float): :class:`LossRange`'s factor. Defaults to 2.0.
        diverge_window (int): :class:`LossRange`'s window. Defaults to 50.
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

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self.enabled or not isinstance(outputs, dict):
            return
        losses = {k: _float(v) for k, v in outputs.items() if 'loss' in k}
        losses = {k: v for k, v in losses.items() if v is not None}
        where = f'iteration {runner.iter + 1}'
        if isinstance(
                getattr(runner, '_train_loop', None), EpochBasedTrainLoop):
            where += f' (epoch {runner.epoch + 1})'
        self._last = (where, losses)
        if losses:  # the optimised total: mmengine's sum, else the terms'
            self.loss_range.update(runner.iter + 1,
                                   losses.get('loss', sum(losses.values())))
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            raise NonFiniteLossError(
                f'non-finite loss at {where}: {_describe(losses)} '
                f'(non-finite: {", ".join(bad)}). Training stops here and '
                'saves nothing more; lower the learning rate or clip '
                'gradients (optim_wrapper.clip_grad), or set '
                'check_finite_loss=False to train on regardless.\n' +
                self._resume_note(runner))

    def _resume_note(self, runner) -> str:
        """Record the checkpoints saved while the loss diverged and say
        which one ``--resume`` takes."""
        last_iter = self.loss_range.last_iter or runner.iter + 1
        first_spoiled = spoiled_from(self.loss_range.onset(), last_iter)
        # a file older than its save names another checkpoint (a stale
        # ``last_ckpt``); allow the file clock's coarse tick
        spoiled = sorted((iteration, path)
                         for path, (iteration, began) in self._saved.items()
                         if iteration >= first_spoiled and osp.isfile(path)
                         and osp.getmtime(path) >= began - 0.05)
        work_dir, how = runner.work_dir, self.loss_range.describe()
        if spoiled:
            if is_main_process():
                record_diverged(
                    work_dir, spoiled, f'{how}; the run stopped '
                    f'at iteration {last_iter}')
            note = (f'{how}. The checkpoints saved since, '
                    f'{_names([p for _, p in spoiled])}, are listed in '
                    f'{osp.join(work_dir, RECORD_NAME)} and --resume passes '
                    'over them')
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
            after = '' if self._last is None else (
                f' after the step of {self._last[0]} (losses '
                f'{_describe(self._last[1])})')
            raise NonFiniteLossError(
                f'the checkpoint\'s {part} holds {bad} non-finite values of '
                f'{total} (the first in {first}){after}: the run diverged; '
                'nothing is saved. Lower the learning rate or clip gradients '
                '(optim_wrapper.clip_grad).\n' + self._resume_note(runner))
        # CheckpointHook names the file it is about to write in
        # ``last_ckpt``; another save (a best one) leaves an older name
        path = runner.message_hub.get_info('last_ckpt')
        meta = checkpoint.get('meta') or {}
        if isinstance(path, str) and path not in self._saved and \
                'iter' in meta and '://' not in path:
            self._saved[path] = (int(meta['iter']), began)
