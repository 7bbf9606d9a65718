"""What the tools change in an mmseg or mmpose config (``default_scope``)
before mmengine's Runner takes it, and the one builder of a split's dataset.
"""
import copy
import gc
import os.path as osp
from typing import Optional, Sequence, Tuple

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS, init_default_scope
from mmengine.utils import import_modules_from_strings

SEG_SCOPE, POSE_SCOPE = 'mmseg', 'mmpose'
SPLITS = ('train', 'val', 'test')

# the input size of the analysis and deployment tools without --shape
DEFAULT_SHAPES = {SEG_SCOPE: (1024, 2048), POSE_SCOPE: (256, 192)}


def input_shape(cfg: Config,
                shape: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """``(H, W)`` from ``--shape`` (``(H, W)`` or ``(S,)``) or, when None,
    the default of the config's scope."""
    if shape is None:
        return DEFAULT_SHAPES[cfg.default_scope]
    shape = tuple(int(s) for s in shape) * (2 if len(shape) == 1 else 1)
    if len(shape) != 2 or min(shape) <= 0:
        raise ValueError(f'--shape takes H W (or one size for a square '
                         f'input) as positive integers, got {shape}')
    return shape


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read an mmseg or mmpose config and merge ``--cfg-options``.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): The overrides. Defaults to None.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in (SEG_SCOPE, POSE_SCOPE):
        raise ValueError(
            f'{path}: default_scope is {scope!r}; these tools run configs '
            f"whose default_scope is {SEG_SCOPE!r} or {POSE_SCOPE!r}")
    return cfg


def setup_run(cfg: Config, config_path: str, work_dir: Optional[str],
              launcher: str) -> Config:
    """Set the work dir, the launcher, and what a distributed run without
    CUDA needs; returns ``cfg``.

    Args:
        cfg (Config): The config, changed in place.
        config_path (str): Its path; the default work dir is named after it.
        work_dir (str, optional): ``--work-dir``; None keeps the config's,
            else ``./work_dirs/CONFIG_NAME``.
        launcher (str): ``--launcher``: none, pytorch, slurm or mpi.
    """
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    if launcher != 'none' and not torch.cuda.is_available():
        # NCCL, mmengine's init_dist and DDP's device_ids need CUDA: join
        # with gloo here (the Runner then skips its init), device-less DDP
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg.backend = 'gloo'
        if launcher != 'pytorch':
            raise ValueError(f'--launcher {launcher} needs CUDA; on CPU use '
                             'torchrun (tools/dist_train.sh)')
        if not torch_dist.is_initialized():
            torch_dist.init_process_group(backend='gloo')
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
        # torch's SyncBatchNorm runs on GPUs only
        _sync_bn_to_bn(cfg.model)
        cfg.pop('sync_bn', None)
    return cfg


def _sync_bn_to_bn(node) -> None:
    """Every ``type='SyncBN'`` of a config (sub)tree becomes ``'BN'``."""
    if isinstance(node, dict) and node.get('type') == 'SyncBN':
        node['type'] = 'BN'
    children = node.values() if isinstance(node, dict) else node
    for value in children if isinstance(node, (dict, list, tuple)) else ():
        _sync_bn_to_bn(value)


def finish_run() -> None:
    """Leave the process group before the interpreter exits: a gloo group
    alive at exit can abort the process ("terminate called without an
    active exception")."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        # a released Runner's cycles still hold the DDP wrapper, and so
        # the group: collect them for the group to go (threads joined) here
        gc.collect()
        torch_dist.destroy_process_group()


def enable_visualization(cfg: Config,
                         show_dir: Optional[str],
                         show: bool,
                         wait_time: float,
                         interval: int = 1) -> None:
    """Turn on the toolbox's visualization hook (``--show``/``--show-dir``).

    Args:
        cfg (Config): The config, changed in place.
        show_dir (str, optional): Folder for the painted images.
        show (bool): Show them in a window.
        wait_time (float): Seconds each shown image stays.
        interval (int): Draw every ``interval``-th image. Defaults to 1.
    """
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise KeyError(
            'default_hooks.visualization is missing from the config; add '
            "the toolbox's visualization hook to use --show/--show-dir")
    hook['interval'] = interval
    if cfg.default_scope == SEG_SCOPE:
        hook['draw'] = True
        if show_dir:
            cfg.visualizer['save_dir'] = show_dir
    else:
        hook['enable'] = True
        hook['out_dir'] = show_dir
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time


def config_type(node: dict) -> str:
    """The class name of a config node's ``type`` (a name, ``'scope.Name'``
    or the class)."""
    kind = node.get('type')
    return str(getattr(kind, '__name__', kind)).split('.')[-1]


def enable_test_time_aug(cfg: Config,
                         config_path: str,
                         scales: Optional[Sequence[float]] = None,
                         flip: bool = True,
                         metainfo: Optional[dict] = None) -> Optional[list]:
    """``--aug-test``: seg configs run ``tta_pipeline``/``tta_model``
    (mmseg's ``--tta``), pose configs the flip test; returns the class pairs
    the flipped views swap, when set here. A test dataset's ``flip_pairs``
    turn ``SegTTAModel`` into ``FlipSwapSegTTAModel``; a
    ``MultiScaleTileTTAModel`` takes scales, flip and pairs as settings.

    Args:
        cfg (Config): The config, changed in place.
        config_path (str): Its path, for error messages.
        scales (Sequence[float], optional): Other scales. Defaults to None.
        flip (bool): Keep the flipped views. Defaults to True.
        metainfo (dict, optional): The test dataset's metainfo. Defaults to
            None (:func:`test_dataset_metainfo`).
    """
    if cfg.default_scope == POSE_SCOPE:
        if scales or not flip:
            raise ValueError(
                '--aug-scales/--no-aug-flip apply to segmentation configs; '
                'for pose configs --aug-test is the flip test')
        set_pose_flip_test(cfg, aug_test=True)
        return None
    for key in ('tta_pipeline', 'tta_model'):
        if key not in cfg:
            raise KeyError(f'{config_path}: --aug-test needs `{key}` in the '
                           'config (mmseg base datasets define it)')
    groups = [s for s in cfg.tta_pipeline if s.get('type') == 'TestTimeAug']
    if not groups:
        raise KeyError(f'{config_path}: tta_pipeline has no TestTimeAug step')
    groups = groups[0]['transforms']
    if metainfo is None:
        metainfo = test_dataset_metainfo(cfg)
    pairs = metainfo.get('flip_pairs')
    kind = config_type(cfg.tta_model)
    tta_model = cfg.tta_model
    swapped = None
    if kind == 'MultiScaleTileTTAModel':
        if scales:
            tta_model['scales'] = [float(s) for s in scales]
        if not flip:
            tta_model['flip'] = False
        if pairs and 'flip_label_pairs' not in tta_model:
            swapped = tta_model['flip_label_pairs'] = [list(p) for p in pairs]
    else:
        for i, group in enumerate(groups):
            types = {t.get('type') for t in group}
            if scales and 'Resize' in types:
                groups[i] = [
                    dict(
                        type='Resize', scale_factor=float(s), keep_ratio=True)
                    for s in scales
                ]
            elif not flip and 'RandomFlip' in types:
                groups[i] = [t for t in group if not t.get('prob')]
        if pairs and (kind == 'SegTTAModel' or
                      (kind == 'FlipSwapSegTTAModel'
                       and 'flip_label_pairs' not in tta_model)):
            swapped = [list(p) for p in pairs]
            cfg.tta_model = dict(
                tta_model,
                type='FlipSwapSegTTAModel',
                flip_label_pairs=swapped)
    # what mmseg's stock tools/test.py --tta does
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return swapped


def set_pose_flip_test(cfg: Config,
                       aug_test: bool = False,
                       no_flip_test: bool = False) -> str:
    """Decide mmpose's flip test; returns what runs, e.g. ``'on (config)'``.

    Args:
        cfg (Config): A pose config, changed in place.
        aug_test (bool): ``--aug-test`` turns it on. Defaults to False.
        no_flip_test (bool): ``--no-flip-test`` turns it off. Defaults to
            False.
    """
    if aug_test and no_flip_test:
        raise ValueError('--aug-test (flip test on) and --no-flip-test '
                         'contradict each other')
    test_cfg = cfg.model.get('test_cfg') or {}
    if aug_test or no_flip_test:
        cfg.model['test_cfg'] = dict(test_cfg, flip_test=aug_test)
        return 'on (--aug-test)' if aug_test else 'off (--no-flip-test)'
    # mmpose's estimators treat a missing flip_test as off
    return f"{'on' if test_cfg.get('flip_test', False) else 'off'} (config)"


def build_split_dataset(cfg: Config,
                        split: str,
                        config_path: str = 'config') -> BaseDataset:
    """The config's ``{split}_dataloader.dataset``, built as mmengine's
    Runner builds it (after its ``custom_imports``, in its scope).

    Args:
        cfg (Config): The config.
        split (str): One of :data:`SPLITS`.
        config_path (str): For messages. Defaults to 'config'.
    """
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise KeyError(f'{config_path}: the config has no '
                       f'{split}_dataloader.dataset')
    # Config.fromfile imports them, but not ones set by --cfg-options
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.default_scope)
    return DATASETS.build(loader['dataset'])


def test_dataset_metainfo(cfg: Config) -> dict:
    """The test dataset's metainfo without building it: the class's
    ``METAINFO`` updated with the config's, as ``BaseDataset`` merges them."""
    dataset_cfg = cfg.test_dataloader.dataset
    with DATASETS.switch_scope_and_registry(cfg.default_scope) as registry:
        dataset_cls = registry.get(dataset_cfg.type)
    if dataset_cls is None:
        raise KeyError(f'test dataset type {dataset_cfg.type!r} is not '
                       f'registered in {cfg.default_scope}')
    metainfo = copy.deepcopy(getattr(dataset_cls, 'METAINFO', {}))
    metainfo.update(copy.deepcopy(dataset_cfg.get('metainfo') or {}))
    return metainfo


def tta_summary(tta_model: dict) -> str:
    """One line saying what ``--aug-test`` runs, for messages.

    Args:
        tta_model (dict): ``cfg.model`` after :func:`enable_test_time_aug`.
    """
    kind = config_type(tta_model)
    if kind != 'MultiScaleTileTTAModel':
        return f'{kind}: the views of tta_pipeline, softmax averaged'
    windows = (f"{tuple(tta_model.get('crop_size', ()))} windows at stride "
               f"{tuple(tta_model.get('stride', ()))}")
    if tta_model.get('whole_max_scale') is not None:
        windows += (f" (whole image up to scale "
                    f"{tta_model['whole_max_scale']})")
    return (f"{kind}: scales {list(tta_model.get('scales', [1.0]))} of "
            f"{tta_model.get('base_size') or 'the image size'}, flip "
            f"{'on' if tta_model.get('flip', True) else 'off'}, {windows}, "
            f"{tta_model.get('view_merge', 'exp_mean_logits')} per window, "
            f"{tta_model.get('scale_merge', 'sum')} over scales")
