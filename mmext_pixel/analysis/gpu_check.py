"""What the GPU check measures on each config: checked training steps,
and the training-step and inference ratios of two models (GSTO's cost)."""
from typing import Callable, Optional

import numpy as np
import torch
from mmengine.config import Config

from .timing import peak_memory, summarise, time_alternately
from .training_cost import model_step, step_settings


def checked_steps(step: Callable[[], dict], iters: int, device: str) -> dict:
    """``iters`` training steps, the first untimed, each loss checked to be
    finite: ``losses``, ``first_loss``, ``last_loss``, ``times_ms``,
    ``median_step_ms`` and, on CUDA, ``peak_mib``."""
    losses, times = [], {}

    def checked_step():
        # mmengine's log holds the loss tensors, still in the graph
        log = {
            k: float(torch.as_tensor(v).detach())
            for k, v in step().items()
        }
        losses.append(log['loss'])  # mmengine's sum of the losses
        if not np.isfinite(log['loss']):
            raise FloatingPointError(f'step {len(losses)}: loss {log["loss"]} '
                                     f'({log})')

    memory = peak_memory(
        lambda: times.update(
            time_alternately(dict(step=checked_step), iters - 1, 1)), device)
    stats = summarise(times['step'])
    result = dict(
        losses=losses,
        first_loss=losses[0],
        last_loss=losses[-1],
        median_step_ms=stats['median_ms'],
        times_ms=stats['times_ms'])
    if device == 'cuda':
        result['peak_mib'] = memory['peak_mib']
    return result


def step_and_forward_ratios(cfg: Config,
                            base_cfg: Config,
                            device: str = 'cpu',
                            amp: bool = False,
                            iters: int = 8,
                            warmup: int = 1,
                            data: Optional[dict] = None) -> dict:
    """A training step and an inference (eval, no grad, ``mode='tensor'``,
    the batch's first image) of ``cfg``'s model against ``base_cfg``'s on
    one batch (``data``; segmentation: :func:`synthetic_batch` when None),
    ``warmup`` untimed and ``iters`` timed runs alternating; ``amp``:
    ``AmpOptimWrapper`` and autocast. Returns per ``train_step`` and
    ``inference`` the medians (``model_ms``, ``baseline_ms``) and ``ratio``.
    """
    steps = {}
    for key, c in (('model', cfg), ('baseline', base_cfg)):
        size = step_settings(c, None, None) if data is None else (1, None)
        steps[key] = model_step(c, device, amp, *size, data=data)
    forwards = {}
    for key, step in steps.items():
        x = step.model.data_preprocessor(step.data, False)['inputs'][:1]
        forwards[key] = (lambda m=step.model, x=x: m(x, None, mode='tensor'))
    result = dict(train_step=time_alternately(steps, iters, warmup))
    for step in steps.values():
        step.model.eval()
    with torch.no_grad(), torch.autocast(device, enabled=amp):
        result['inference'] = time_alternately(forwards, iters, warmup)
    return {
        what: dict(
            model_ms=1000 * m['model'].median,
            baseline_ms=1000 * m['baseline'].median,
            ratio=m['model'].median / m['baseline'].median)
        for what, m in result.items()
    }
