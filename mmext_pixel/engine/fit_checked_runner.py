"""The Runner of ``tools/train.py`` and ``tools/test.py``: checkpoints
checked before they load, written atomically, resumed from the newest that
loads."""
import copy
import inspect
import math
import os.path as osp
from typing import Callable, Optional, Sequence, Tuple, Union

from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.optim import OptimWrapperDict
from mmengine.runner import Runner

from mmext_pixel.utils.checkpoint_files import atomic_file, resume_candidates
from mmext_pixel.utils.checkpoint_fit import (DEFAULT_REVISE_KEYS,
                                              CheckpointError, load_fitting,
                                              read_checkpoint)

from .diverged_checkpoints import RECORD_NAME, read_record, split_candidates


class _FormattedOnceConfig(Config):
    """A ``Config`` whose text (yapf over the whole config, about 0.4 s) is
    formatted once for each content: the Runner asks for it for its log,
    the dumped config, the message hub and every checkpoint."""

    @property
    def pretty_text(self) -> str:
        key = repr(self.to_dict())
        cached = self.__dict__.get('_formatted')
        if cached is None or cached[0] != key:
            cached = (key, super().pretty_text)
            object.__setattr__(self, '_formatted', cached)
        return cached[1]


class FitCheckedRunner(Runner):
    """mmengine's ``Runner`` whose checkpoints are checked before they load
    (:func:`load_fitting`; ``allow_partial`` by default, for fine-tuning),
    written atomically, and resumed from the newest one of the work dir
    that loads and did not diverge."""

    allow_partial: bool = True
    _preloaded: Optional[Tuple[str, dict]] = None

    def __init__(self, *args, cfg: Optional[Config] = None, **kwargs):
        if isinstance(cfg, Config):
            cfg = copy.deepcopy(cfg)
            object.__setattr__(cfg, '__class__', _FormattedOnceConfig)
        super().__init__(*args, cfg=cfg, **kwargs)

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        """As ``Runner.save_checkpoint``, through ``filename + '.part'``
        when ``out_dir`` is a local folder."""
        bound = inspect.signature(Runner.save_checkpoint).bind(
            self, out_dir, filename, *args, **kwargs)
        bound.apply_defaults()
        if bound.arguments['file_client_args'] is not None or not isinstance(
                get_file_backend(
                    out_dir, backend_args=bound.arguments['backend_args']),
                LocalBackend):
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        with atomic_file(osp.join(out_dir, filename)) as part:
            super().save_checkpoint(out_dir, osp.basename(part), *args,
                                    **kwargs)

    def load_or_resume(self) -> None:
        """As ``Runner.load_or_resume``; resuming by name from a diverged
        checkpoint is an error."""
        if self._has_loaded or not self._resume:
            return super().load_or_resume()
        record = osp.join(self.work_dir, RECORD_NAME)
        try:
            entries = read_record(self.work_dir)
        except ValueError as e:  # a damaged record, named
            raise CheckpointError(str(e)) from e
        if self._load_from:
            _, spoiled = split_candidates([self._load_from], entries)
            if spoiled:
                entry = spoiled[0][1]
                raise CheckpointError(
                    f'--resume {self._load_from}: this checkpoint was saved '
                    f'while the loss diverged ({entry["why"]}; listed in '
                    f'{record}) and fails again whatever the learning rate. '
                    'Resume without a path to take the newest sound one, or '
                    'delete the record to resume from it anyway')
            return super().load_or_resume()
        candidates, spoiled = split_candidates(
            resume_candidates(self.work_dir), entries)
        if spoiled:
            self.logger.warning(
                'resume: passing over ' +
                ', '.join(f'{path} (iteration {entry["iter"]})'
                          for path, entry in spoiled) +
                ': saved while the loss '
                f'diverged ({spoiled[0][1]["why"]}), as listed in {record}')
        failed = []
        for path in candidates:
            try:
                checkpoint = read_checkpoint(path)
                meta = checkpoint.get('meta')
                if not isinstance(meta, dict) or 'iter' not in meta:
                    raise CheckpointError(
                        f'checkpoint {path}: no meta.iter, not saved by a '
                        'training run')
            except Exception as e:  # any file that does not load is skipped
                self.logger.warning(
                    f'resume: checkpoint {path} does not load; it is left in '
                    'place and an older one is tried '
                    f'({type(e).__name__}: {e})')
                failed.append(path)
                continue
            instead = (' instead of ' +
                       ', '.join(p for p, _ in spoiled) if spoiled else '')
            self.logger.info(f'resume: the newest checkpoint that loads in '
                             f'{self.work_dir} is {path}; resuming from it'
                             f'{instead}')
            self._preloaded = (path, checkpoint)
            self.resume(path)
            self._has_loaded = True
            return
        if failed:
            raise CheckpointError(
                f'--resume: no checkpoint in {self.work_dir} loads (tried, '
                f'newest first: {", ".join(failed)})')
        if spoiled:
            self.logger.warning(
                f'resume: every checkpoint in {self.work_dir} was saved '
                'while the loss diverged; training starts from the '
                'beginning')
        else:
            self.logger.info(f'resume: no checkpoint in {self.work_dir}; '
                             'training starts from the beginning')

    def _optimizers(self) -> list:
        wrapper = getattr(self, 'optim_wrapper', None)
        if isinstance(wrapper, OptimWrapperDict):
            return [w.optimizer for w in wrapper.values()]
        optimizer = getattr(wrapper, 'optimizer', None)
        return [] if optimizer is None else [optimizer]

    def resume(self, filename: str, *args, **kwargs) -> None:
        """As ``Runner.resume``, but the config's learning rates (lowered
        after a divergence) replace the saved ones, the schedule's position
        kept, with a warning."""
        configured = [[g.get('initial_lr', g['lr']) for g in o.param_groups]
                      for o in self._optimizers()]
        super().resume(filename, *args, **kwargs)
        schedulers = self.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        changed = []
        for optimizer, rates in zip(self._optimizers(), configured):
            for i, (group,
                    rate) in enumerate(zip(optimizer.param_groups, rates)):
                saved = group.get('initial_lr', group['lr'])
                if not saved or math.isclose(saved, rate, rel_tol=1e-9):
                    continue
                group['lr'] *= rate / saved
                if 'initial_lr' in group:
                    group['initial_lr'] = rate
                for scheduler in schedulers:
                    # schedulers hold the optimizer wrapper
                    target = getattr(scheduler, 'optimizer', None)
                    if getattr(target, 'optimizer', target) is optimizer \
                            and getattr(scheduler, 'param_name', '') == 'lr':
                        scheduler.base_values[i] = rate
                changed.append(f'{saved:.6g} -> {rate:.6g}')
        if changed:
            self.logger.warning(
                f'resume: the config\'s learning rate replaces the one saved '
                f'in {filename} ({", ".join(dict.fromkeys(changed))}); the '
                'schedule goes on from the resumed iteration')

    def load_checkpoint(
            self,
            filename: str,
            map_location: Union[str, Callable] = 'cpu',
            strict: bool = False,
            revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS):
        """As ``Runner.load_checkpoint``, through :func:`load_fitting`.

        Args:
            filename (str): Checkpoint path or URL.
            map_location (str | Callable): As torch.load's. Defaults to 'cpu'.
            strict (bool): Refuse a misfit even with ``allow_partial``.
                Defaults to False.
            revise_keys (Sequence[tuple[str, str]]): As for
                :func:`checkpoint_fit`. Defaults to stripping ``module.``.
        """
        if self._preloaded is not None and self._preloaded[0] == filename:
            checkpoint = self._preloaded[1]  # read once by load_or_resume
        else:
            checkpoint = read_checkpoint(filename, map_location)
        self._preloaded = None
        # hooks may rewrite the checkpoint first, as in Runner's
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        load_fitting(
            self.model,
            checkpoint,
            filename,
            allow_partial=self.allow_partial and not strict,
            revise_keys=revise_keys,
            logger=self.logger)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
