"""Build a config's model the one way every tool and library function does.

mmseg's and mmpose's ``init_model`` build a model for inference on a device
and load a checkpoint leniently (missing keys are warnings). The tools and
the export need two things more: SyncBN reverted, so a config written for
several GPUs runs in one process, and a checkpoint that fits the model
exactly, refused with a report of what does not fit.
"""
import copy
from typing import Optional, Union

from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from .checkpoint_fit import CheckpointError, checkpoint_fit, read_checkpoint
from .run_config import POSE_SCOPE, load_config


def build_model(cfg: Union[str, Config],
                checkpoint: Optional[str] = None,
                cfg_options: Optional[dict] = None,
                device: str = 'cpu') -> nn.Module:
    """The config's model in eval mode, SyncBN reverted, weights from
    ``checkpoint`` (all of them must fit) if given.

    ``model.cfg`` is the config, ``model.config_path`` its file and
    ``model.dataset_meta`` the checkpoint's (None without one).

    Args:
        cfg (str | Config): Config or its path.
        checkpoint (str, optional): Checkpoint path. Defaults to None
            (random weights).
        cfg_options (dict, optional): Overrides merged into the config.
            Defaults to None.
        device (str): Where the model is put. Defaults to 'cpu'.
    """
    config_path = cfg if isinstance(cfg, str) else cfg.filename
    if not isinstance(cfg, Config):
        cfg = load_config(cfg, cfg_options)
    elif cfg_options:
        cfg = copy.deepcopy(cfg)
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    init_default_scope(scope)
    if scope == POSE_SCOPE:
        from mmpose.registry import MODELS
    else:
        from mmseg.registry import MODELS
    # a copy: building writes ``pretrained`` into the backbone's config,
    # and a second build from the same Config would then fail
    model = revert_sync_batchnorm(MODELS.build(copy.deepcopy(cfg.model)))
    model.dataset_meta = None
    if checkpoint is not None:
        from mmengine.runner.checkpoint import _load_checkpoint_to_model
        ckpt = read_checkpoint(checkpoint)
        fit = checkpoint_fit(model, ckpt)
        if not fit.fits:
            raise CheckpointError(
                f'checkpoint {checkpoint} does not fit the model of '
                f'{config_path}:\n{fit.describe()}')
        _load_checkpoint_to_model(model, ckpt, strict=True)
        model.dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    model.cfg = cfg
    model.config_path = config_path
    return model.to(device).eval()
