"""The configs that ``tools/gpu_check.py`` runs: each method's main config
and its counterpart on synthetic data in the dataset's own layout; for
``--smoke`` with narrow trunks and small crops, so that the same steps run
in about a minute on a CPU."""
import copy
import inspect
import json
import os.path as osp
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hub import get_config
from mmengine.registry import DATASETS, init_default_scope
from mmengine.utils import mkdir_or_exist
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmseg.registry import DATASETS as SEG_DATASETS

from mmext_pixel.analysis.training_cost import synthetic_labels
from mmext_pixel.utils.run_config import POSE_SCOPE, load_config

# the folder that holds the mmext_pixel package (a checkout's root)
PACKAGE_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# method: (main config, counterpart of the cost step: a config, 'official'
# (the head's official arithmetic) or None, --smoke crop (H, W) or side);
# GALDHead's smallest map is 31x31
METHODS = {
    'gsto': ('gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py',
             'hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py', 64),
    'gald':
    ('gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py', 'official', 257),
    'dgcn':
    ('dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py', 'official', 96),
    'gscnn': ('gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py', None, 64),
    'spnet':
    ('spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py', 'official', 64),
    'gsto_pose': ('gsto_pose/td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py',
                  None, (96, 64)),
}
# the counterparts of GSTO's cost ratios: FCN-HRNet-W48 and mmpose's
# top-down HRNet-W32 at 256x192
GSTO_COUNTERPARTS = {
    'gsto':
    'hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py',
    'gsto_pose':
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'
}
# Per-GPU batch 1 relies on SyncBN across the GPUs for the BN after
# Gated-SCNN's image pooling (a 1x1 map); one process trains 2 images.
ONE_PROCESS_BATCH = {'gscnn': 2}
# --smoke: HRNet with one module and one block per stage, widths 8..64;
# ResNet at 1/16 of its widths; the heads' widths follow their trunk's
TINY_HRNET = (8, 16, 32, 64)
HEAD_WIDTHS = ('in_channels', 'channels', 'mid_channels', 'ga_channels')
# --smoke: two scales (and the flip) instead of the config's six; pose
# images per step instead of 64
SMOKE_AUG_SCALES = (0.75, 1.0)
SMOKE_POSE_BATCH = 4
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@dataclass
class GPUCheckSettings:
    """What ``mmext_pixel.apis.gpu_check.run_gpu_check`` runs.

    Args:
        device (str): ``'cuda'`` or ``'cpu'``. Defaults to 'cuda'.
        smoke (bool): Tiny models and sizes, one CPU thread. Defaults to
            False.
        iters (int): Training steps (at least 2). Defaults to 20.
        cfg_options (dict, optional): Overrides of every config. Defaults
            to None.
    """
    device: str = 'cuda'
    smoke: bool = False
    iters: int = 20
    cfg_options: Optional[dict] = None


def shipped_path(*parts: str) -> str:
    """A file the project ships beside the package (``configs/...``): in a
    checkout, or in an installed package's ``.mim`` copy, as MIM finds it.

    Args:
        parts (str): The path's parts below the project's root.
    """
    for root in (PACKAGE_ROOT, osp.join(PACKAGE_ROOT, 'mmext_pixel', '.mim')):
        if osp.exists(osp.join(root, *parts)):
            return osp.join(root, *parts)
    raise FileNotFoundError(
        f'{osp.join(*parts)} is neither in {PACKAGE_ROOT} nor in the '
        'package\'s .mim folder: run the check from a checkout of the '
        'project or an installed mmext_pixel')


def _scaled(value, factor):
    if isinstance(value, (list, tuple)):
        return type(value)(_scaled(v, factor) for v in value)
    return max(1, int(round(value * factor)))


def _without_weights(model: Config) -> None:
    model.pop('pretrained', None)  # nothing is downloaded
    model.backbone.init_cfg = None


def shrink_model(model: Config) -> None:
    """The --smoke trunk (:data:`TINY_HRNET`, or ResNet at 1/16 of its
    widths), the heads' widths scaled alike."""
    backbone = model.backbone
    if 'extra' in backbone:  # HRNet
        factor = TINY_HRNET[0] / backbone.extra.stage2.num_channels[0]
        backbone.extra = {
            f'stage{i}': dict(
                num_modules=1,
                num_branches=i,
                block='BASIC' if i > 1 else 'BOTTLENECK',
                num_blocks=(1, ) * i,
                num_channels=TINY_HRNET[:i])
            for i in (1, 2, 3, 4)
        }
    else:
        factor = 1 / 16
        backbone.update(
            base_channels=4,
            stem_channels=backbone.get('stem_channels', 64) // 16)
    for key in ('decode_head', 'auxiliary_head', 'head'):
        heads = model.get(key) or []
        for head in heads if isinstance(heads, list) else [heads]:
            head.update({
                k: _scaled(head[k], factor)
                for k in HEAD_WIDTHS if k in head
            })


def _pipeline_steps(cfg: Config):
    for key in DATALOADERS:
        yield from cfg.get(key, {}).get('dataset', {}).get('pipeline', [])
    for group in cfg.get('tta_pipeline', []):
        for step in group.get('transforms', []):
            yield from (step if isinstance(step, list) else [step])


def shrink(cfg: Config, crop) -> None:
    """The --smoke sizes: the model (:func:`shrink_model`), the crop, and
    the test sizes and pipelines scaled alike (pose: the codec's input)."""
    shrink_model(cfg.model)
    if cfg.default_scope == POSE_SCOPE:
        h, w = crop
        cfg.train_dataloader.batch_size = SMOKE_POSE_BATCH
        codec = copy.deepcopy(cfg.model.head.decoder)
        codec.update(input_size=(w, h), heatmap_size=(w // 4, h // 4))
        cfg.model.head.decoder = codec
        for step in _pipeline_steps(cfg):
            if step.get('type') == 'TopdownAffine':
                step['input_size'] = (w, h)
            if step.get('type') == 'GenerateTarget':
                step['encoder'] = copy.deepcopy(codec)
        return
    model = cfg.model
    factor = crop / model.data_preprocessor.size[0]
    model.data_preprocessor.size = (crop, crop)
    for part, keys in ((model.get('test_cfg', {}), ('crop_size', 'stride')),
                       (cfg.get('tta_model',
                                {}), ('crop_size', 'stride', 'base_size'))):
        part.update({k: _scaled(part[k], factor) for k in keys if k in part})
    for step in _pipeline_steps(cfg):
        if step.get('type') in ('Resize', 'RandomResize') and 'scale' in step:
            step['scale'] = _scaled(step['scale'], factor)
        if step.get('type') == 'RandomCrop':
            step['crop_size'] = (crop, crop)


def write_seg_data(cfg: Config, root: str) -> None:
    """Two test images and label maps in the test dataset's layout, at the
    test Resize's scale."""
    init_default_scope('mmseg')
    dataset = cfg.test_dataloader.dataset
    dataset_cls = SEG_DATASETS.get(dataset.type)
    params = inspect.signature(dataset_cls.__init__).parameters
    h, w = tuple(cfg.model.data_preprocessor.size)
    for step in dataset.pipeline:
        if step.get('type') == 'Resize' and 'scale' in step:
            h, w = min(step['scale']), max(step['scale'])
            break
    labels = synthetic_labels(2, (h, w), len(dataset_cls.METAINFO['classes']))
    if any(
            s.get('reduce_zero_label') for s in dataset.pipeline
            if s.get('type') == 'LoadAnnotations'):
        # void 255 is 0 before the reduction
        labels = np.where(labels == 255, 0, labels + 1).astype(np.uint8)
    rng = np.random.default_rng(0)
    for i, label in enumerate(labels):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for prefix, data, key in ((dataset.data_prefix.img_path, img,
                                   'img_suffix'),
                                  (dataset.data_prefix.seg_map_path, label,
                                   'seg_map_suffix')):
            suffix = dataset.get(key, params[key].default)
            mkdir_or_exist(osp.join(root, prefix, 'city'))
            cv2.imwrite(
                osp.join(root, prefix, 'city', f'city_{i:06d}_000019{suffix}'),
                data)
    for key in DATALOADERS:
        cfg[key].dataset.data_root = root


def write_coco_data(cfg: Config, root: str) -> None:
    """Two images with two people each, COCO person_keypoints format."""
    rng = np.random.default_rng(0)
    coco = parse_pose_metainfo(
        get_config('mmpose::_base_/datasets/coco.py').dataset_info)
    ann = dict(
        images=[],
        annotations=[],
        categories=[
            dict(
                supercategory='person',
                id=1,
                name='person',
                keypoints=[coco['keypoint_id2name'][i] for i in range(17)],
                skeleton=[[a + 1, b + 1] for a, b in coco['skeleton_links']])
        ])
    mkdir_or_exist(osp.join(root, 'images'))
    mkdir_or_exist(osp.join(root, 'annotations'))
    for i in range(1, 3):
        name = f'{i:012d}.jpg'
        img = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(root, 'images', name), img)
        ann['images'].append(dict(id=i, file_name=name, height=240, width=320))
        for x0 in (20, 170):
            pts = np.stack([
                rng.uniform(x0, x0 + 120, 17),
                rng.uniform(20, 220, 17),
                np.full(17, 2.0)
            ], 1)
            ann['annotations'].append(
                dict(
                    id=len(ann['annotations']) + 1,
                    image_id=i,
                    category_id=1,
                    iscrowd=0,
                    num_keypoints=17,
                    keypoints=[round(float(v), 2) for v in pts.ravel()],
                    bbox=[x0, 20, 120, 200],
                    area=120 * 200 * 0.53))
    ann_file = osp.join(root, 'annotations', 'person_keypoints.json')
    with open(ann_file, 'w') as f:
        json.dump(ann, f)
    for key in DATALOADERS:
        cfg[key].dataset.update(
            data_root=root,
            ann_file='annotations/person_keypoints.json',
            data_prefix=dict(img='images/'),
            bbox_file=None)
    for key in ('test_evaluator', 'val_evaluator'):
        cfg[key].ann_file = ann_file


def prepare_config(method: str, settings: GPUCheckSettings,
                   work_dir: str) -> str:
    """The shipped config with synthetic data (and --smoke sizes), written
    to ``work_dir/configs/METHOD.py``."""
    config, _, crop = METHODS[method]
    cfg = load_config(shipped_path('configs', config))
    if settings.smoke:
        shrink(cfg, crop)
    _without_weights(cfg.model)
    if settings.cfg_options:
        cfg.merge_from_dict(copy.deepcopy(settings.cfg_options))
    root = osp.join(work_dir, 'data', method)
    if cfg.default_scope == POSE_SCOPE:
        write_coco_data(cfg, root)
    else:
        write_seg_data(cfg, root)
    if method in ONE_PROCESS_BATCH:
        cfg.train_dataloader.batch_size = ONE_PROCESS_BATCH[method]
    for key in DATALOADERS:
        cfg[key].update(num_workers=0, persistent_workers=False)
    path = osp.join(work_dir, 'configs', f'{method}.py')
    mkdir_or_exist(osp.dirname(path))
    cfg.dump(path)
    return path


def official_widths(method: str, path: str, work_dir: str) -> str:
    """The check's config of ``method`` with the shipped decode head: SPNet's
    official arithmetic exists at its published widths only."""
    cfg = Config.fromfile(path)
    shipped = load_config(shipped_path('configs', METHODS[method][0]))
    cfg.model.decode_head = shipped.model.decode_head
    out = osp.join(work_dir, 'configs', f'{method}_official_widths.py')
    cfg.dump(out)
    return out


def prepare_baseline(counterpart: str, method: str, settings: GPUCheckSettings,
                     work_dir: str) -> str:
    """The counterpart config (shipped, or ``mmpose::``), with the method's
    data and, for --smoke, its sizes; written beside the method's."""
    ours = Config.fromfile(osp.join(work_dir, 'configs', f'{method}.py'))
    if counterpart.startswith('mmpose::'):
        cfg = get_config(counterpart)
        cfg.merge_from_dict(dict(custom_imports=ours.custom_imports))
        for key in DATALOADERS + ('val_evaluator', 'test_evaluator'):
            cfg[key] = ours[key]
        cfg.model.head.decoder = ours.model.head.decoder
    else:
        cfg = load_config(shipped_path('configs', counterpart))
        cfg.model.data_preprocessor.size = ours.model.data_preprocessor.size
    _without_weights(cfg.model)
    if settings.smoke:
        shrink_model(cfg.model)
    path = osp.join(work_dir, 'configs', f'{method}_baseline.py')
    cfg.dump(path)
    return path


def pose_batch(cfg: Config) -> dict:
    """A training batch of the synthetic COCO set, through the config's own
    training pipeline."""
    init_default_scope(POSE_SCOPE)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = cfg.train_dataloader.batch_size
    return pseudo_collate([dataset[i % len(dataset)] for i in range(batch)])
