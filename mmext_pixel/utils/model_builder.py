"""The one builder of a config's model: unlike mmseg's and mmpose's
``init_model``, SyncBN is reverted (to run in one process) and a checkpoint
must fit exactly."""
import copy
from typing import Optional, Union

from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from .checkpoint_fit import load_fitting, read_checkpoint
from .run_config import load_config


def build_model(cfg: Union[str, Config],
                checkpoint: Optional[str] = None,
                cfg_options: Optional[dict] = None,
                device: str = 'cpu') -> nn.Module:
    """The config's model in eval mode, SyncBN reverted, with the weights of
    ``checkpoint`` (which must fit); ``model.cfg`` is the config,
    ``model.config_path`` its file, ``model.dataset_meta`` the checkpoint's.

    Args:
        cfg (str | Config): Config or its path.
        checkpoint (str, optional): Its path. Defaults to None (random).
        cfg_options (dict, optional): Overrides to merge. Defaults to None.
        device (str): Where the model is put. Defaults to 'cpu'.
    """
    config_path = cfg if isinstance(cfg, str) else cfg.filename
    if not isinstance(cfg, Config):
        cfg = load_config(cfg, cfg_options)
    elif cfg_options:
        cfg = copy.deepcopy(cfg)
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope'))  # for the root registry
    # a copy: building writes ``pretrained`` into the backbone's config,
    # and a second build from the same Config would then fail
    model = revert_sync_batchnorm(MODELS.build(copy.deepcopy(cfg.model)))
    model.dataset_meta = None
    if checkpoint is not None:
        ckpt = read_checkpoint(checkpoint)
        load_fitting(model, ckpt, checkpoint, f'the model of {config_path}')
        model.dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    model.cfg = cfg
    model.config_path = config_path
    return model.to(device).eval()
