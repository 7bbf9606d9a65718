"""``tools/train.py``'s run: ``FitCheckedRunner`` with the training guards,
label maps checked before the first step."""
from typing import Callable, Optional

from mmengine.config import Config

from mmext_pixel.datasets.label_check import check_label_maps
from mmext_pixel.engine import FitCheckedRunner, add_training_guards
from mmext_pixel.utils.checkpoint_fit import check_checkpoint_file
from mmext_pixel.utils.run_config import SEG_SCOPE, setup_run


def train(cfg: Config,
          config_path: str,
          work_dir: Optional[str] = None,
          launcher: str = 'none',
          amp: bool = False,
          resume: Optional[str] = None,
          no_validate: bool = False,
          no_label_check: bool = False,
          log: Callable[[str], None] = print) -> None:
    """Train ``cfg`` (loaded by ``load_config``) as ``tools/train.py`` does.

    Args:
        cfg (Config): The config.
        config_path (str): Its path (work dir names, messages).
        work_dir (str, optional): Logs and checkpoints. Defaults to None.
        launcher (str): Job launcher. Defaults to 'none'.
        amp (bool): Mixed precision (``AmpOptimWrapper``). Defaults to False.
        resume (str, optional): A checkpoint, or 'auto' for the newest in
            the work dir that loads. Defaults to None.
        no_validate (bool): No evaluation while training. Defaults to False.
        no_label_check (bool): Do not read the val and test label maps
            first. Defaults to False.
        log (Callable[[str], None]): Notes on the run. Defaults to print.
    """
    cfg = setup_run(cfg, config_path, work_dir, launcher)
    add_training_guards(cfg)
    if amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError('--amp needs optim_wrapper.type OptimWrapper, '
                             f'the config has {optim_wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if resume is not None:
        cfg.resume = True
        cfg.load_from = None if resume == 'auto' else resume
    if no_validate:
        cfg.update(val_cfg=None, val_dataloader=None, val_evaluator=None)
    if cfg.get('load_from'):
        check_checkpoint_file(cfg.load_from)  # before the long setup
    if no_label_check:
        log('label check: skipped (--no-label-check)')
    elif cfg.default_scope == SEG_SCOPE:
        # training does not use the test split: one that does not build
        # is reported, not fatal
        for report in check_label_maps(
                cfg, ('val', 'test'), cfg.work_dir, optional=('test', )):
            log(f'label check: {report.summary()}')
    else:
        log('label check: none, a pose config has no label maps')
    FitCheckedRunner.from_cfg(cfg).train()
