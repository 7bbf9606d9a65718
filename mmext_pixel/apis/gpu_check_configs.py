"""The configs that ``tools/gpu_check.py`` runs: each method's main config
and its counterpart, with synthetic data in the dataset's own layout, shrunk
for ``--smoke`` (narrow trunks, small crops and test sizes) so that the same
steps run in about a minute on a CPU."""
import copy
import inspect
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hub import get_config
from mmengine.registry import DATASETS, init_default_scope
from mmseg.registry import DATASETS as SEG_DATASETS

from mmext_pixel.utils.run_config import POSE_SCOPE, load_config

# the folder that holds the mmext_pixel package (a checkout's root)
PACKAGE_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the counterparts of GSTO's cost ratios: FCN-HRNet-W48 and mmpose's
# top-down HRNet-W32 at 256x192
GSTO_COUNTERPARTS = {
    'gsto':
    'hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py',
    'gsto_pose':
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'
}


def shipped_path(*parts: str) -> str:
    """A file that the project ships beside the package (``configs/...``,
    ``tools/...``): in a checkout, or in an installed package's ``.mim``
    copy, as MIM finds them.

    Args:
        parts (str): The path's parts below the project's root.
    """
    for root in (PACKAGE_ROOT, osp.join(PACKAGE_ROOT, 'mmext_pixel', '.mim')):
        path = osp.join(root, *parts)
        if osp.exists(path):
            return path
    raise FileNotFoundError(
        f'{osp.join(*parts)} is neither in {PACKAGE_ROOT} nor in the '
        'package\'s .mim folder: run the check from a checkout of the '
        'project or an installed mmext_pixel')


@dataclass
class GPUCheckSettings:
    """What ``mmext_pixel.apis.gpu_check.run_gpu_check`` runs.

    Args:
        device (str): ``'cuda'`` or ``'cpu'``. Defaults to 'cuda'.
        smoke (bool): Tiny models and sizes (:data:`SMOKE`), one CPU
            thread. Defaults to False.
        iters (int): Training steps (at least 2). Defaults to 20.
        cfg_options (dict, optional): Overrides of every config. Defaults
            to None.
    """
    device: str = 'cuda'
    smoke: bool = False
    iters: int = 20
    cfg_options: Optional[dict] = None


# method: (main config, counterpart for benchmark_train: a config,
# 'official' or None)
METHODS = {
    'gsto': ('gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py',
             'hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py'),
    'gald': ('gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py', 'official'),
    'dgcn': ('dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py', 'official'),
    'gscnn': ('gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py', None),
    'spnet': ('spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py', 'official'),
    'gsto_pose':
    ('gsto_pose/td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py', None),
}

# Per-GPU batch 1 relies on SyncBN across the GPUs for the BN after
# Gated-SCNN's image pooling (a 1x1 map); one process trains 2 images.
ONE_PROCESS_BATCH = {'gscnn': 2}

# --smoke: HRNet with one module and one block per stage, widths 8..64
TINY_HRNET = (8, 16, 32, 64)


def tiny_hrnet_extra():
    stage = dict(num_modules=1, block='BASIC')
    extra = dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(1, ),
            num_channels=(8, )))
    for i in (2, 3, 4):
        extra[f'stage{i}'] = dict(
            stage,
            num_branches=i,
            num_blocks=(1, ) * i,
            num_channels=TINY_HRNET[:i])
    return extra


def narrow_resnet(head, aux=None):
    """ResNet trunk with 4 base and 8 stem channels (layer4 128)."""
    model = dict(backbone=dict(base_channels=4, stem_channels=8), head=head)
    if aux:
        model['aux'] = aux
    return model


# --smoke: (crop, model changes); GALDHead's smallest map is 31x31
SMOKE = {
    'gsto':
    (64,
     dict(
         backbone=dict(extra=tiny_hrnet_extra()),
         head=dict(in_channels=list(TINY_HRNET), channels=sum(TINY_HRNET)))),
    'gald': (257,
             narrow_resnet(
                 dict(in_channels=128, channels=32, ga_channels=16),
                 dict(in_channels=64, channels=16))),
    'dgcn': (96,
             narrow_resnet(
                 dict(in_channels=128, channels=32),
                 dict(in_channels=64, channels=16))),
    'gscnn':
    (64, narrow_resnet(dict(in_channels=[8, 16, 32, 64, 128], channels=16))),
    'spnet': (64,
              narrow_resnet(
                  dict(in_channels=128, mid_channels=32, channels=16),
                  dict(in_channels=64, channels=16))),
    # pose: input 64 wide, 96 high
    'gsto_pose': ((96, 64),
                  dict(
                      backbone=dict(extra=tiny_hrnet_extra()),
                      head=dict(in_channels=TINY_HRNET))),
}

# --smoke: two scales (and the flip) instead of the config's six
SMOKE_AUG_SCALES = (0.75, 1.0)
# --smoke: pose images per step instead of 64
SMOKE_POSE_BATCH = 4


def _scaled(value, factor):
    if isinstance(value, (list, tuple)):
        return type(value)(_scaled(v, factor) for v in value)
    return max(1, int(round(value * factor)))


def _set_pipelines(cfg: Config, fn) -> None:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg.get(key, {}).get('dataset', {})
        for step in dataset.get('pipeline', []):
            fn(step)
    for group in cfg.get('tta_pipeline', []):
        for step in group.get('transforms', []):
            for sub in (step if isinstance(step, list) else [step]):
                fn(sub)


def shrink_seg(cfg: Config, method: str) -> None:
    crop, changes = SMOKE[method]
    model = cfg.model
    factor = crop / model.data_preprocessor.size[0]
    model.backbone.update(changes['backbone'])
    model.backbone.init_cfg = None
    model.decode_head.update(changes['head'])
    if 'aux' in changes and model.get('auxiliary_head'):
        model.auxiliary_head.update(changes['aux'])
    model.data_preprocessor.size = (crop, crop)
    test_cfg = model.get('test_cfg', {})
    for key in ('crop_size', 'stride'):
        if key in test_cfg:
            test_cfg[key] = _scaled(test_cfg[key], factor)
    tta = cfg.get('tta_model', {})
    for key in ('crop_size', 'stride', 'base_size'):
        if key in tta:
            tta[key] = _scaled(tta[key], factor)

    def shrink_resize(step):
        if step.get('type') in ('Resize', 'RandomResize') and 'scale' in step:
            step['scale'] = _scaled(step['scale'], factor)
        if step.get('type') == 'RandomCrop':
            step['crop_size'] = (crop, crop)

    _set_pipelines(cfg, shrink_resize)


def shrink_pose(cfg: Config) -> None:
    (h, w), changes = SMOKE['gsto_pose']
    cfg.model.backbone.update(changes['backbone'])
    cfg.model.backbone.init_cfg = None
    cfg.model.head.update(changes['head'])
    cfg.train_dataloader.batch_size = SMOKE_POSE_BATCH
    codec = copy.deepcopy(cfg.model.head.decoder)
    codec.update(input_size=(w, h), heatmap_size=(w // 4, h // 4))
    cfg.model.head.decoder = codec

    def shrink(step):
        if step.get('type') == 'TopdownAffine':
            step['input_size'] = (w, h)
        if step.get('type') == 'GenerateTarget':
            step['encoder'] = copy.deepcopy(codec)

    _set_pipelines(cfg, shrink)


def seg_test_size(cfg: Config) -> tuple:
    """(H, W) of the synthetic test images: the test Resize's scale."""
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.get('type') == 'Resize' and 'scale' in step:
            long, short = max(step['scale']), min(step['scale'])
            return (short, long)
    return tuple(cfg.model.data_preprocessor.size)


def write_seg_data(cfg: Config, root: str) -> None:
    """Two test images and label maps in the test dataset's layout."""
    init_default_scope('mmseg')
    dataset = cfg.test_dataloader.dataset
    cls = SEG_DATASETS.get(dataset.type)
    params = inspect.signature(cls.__init__).parameters
    img_suffix = dataset.get('img_suffix', params['img_suffix'].default)
    seg_suffix = dataset.get('seg_map_suffix',
                             params['seg_map_suffix'].default)
    reduce_zero = any(
        s.get('reduce_zero_label') for s in dataset.pipeline
        if s.get('type') == 'LoadAnnotations')
    num_classes = len(cls.METAINFO['classes'])
    h, w = seg_test_size(cfg)
    rng = np.random.default_rng(0)
    for i in range(2):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        cells = rng.integers(0, num_classes, (4, 8))
        label = np.kron(cells, np.ones((h // 4 + 1, w // 8 + 1),
                                       np.int64))[:h, :w]
        label = (label + 1 if reduce_zero else label).astype(np.uint8)
        for prefix, data, suffix in ((dataset.data_prefix.img_path, img,
                                      img_suffix),
                                     (dataset.data_prefix.seg_map_path, label,
                                      seg_suffix)):
            folder = osp.join(root, prefix, 'city')
            os.makedirs(folder, exist_ok=True)
            cv2.imwrite(osp.join(folder, f'city_{i:06d}_000019{suffix}'), data)
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        cfg[key].dataset.data_root = root


COCO_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                  'left_shoulder', 'right_shoulder', 'left_elbow',
                  'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                  'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                  'right_ankle')


def write_coco_data(cfg: Config, root: str) -> None:
    """Two images with two people each, COCO person_keypoints format."""
    rng = np.random.default_rng(0)
    images, annotations = [], []
    h, w = 240, 320
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    for i in range(2):
        name = f'{i + 1:012d}.jpg'
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(root, 'images', name), img)
        images.append(dict(id=i + 1, file_name=name, height=h, width=w))
        for j in range(2):
            x0, y0 = 20 + 150 * j, 20
            bw, bh = 120, 200
            pts = np.stack([
                rng.uniform(x0, x0 + bw, 17),
                rng.uniform(y0, y0 + bh, 17),
                np.full(17, 2.0)
            ], 1)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i + 1,
                    category_id=1,
                    iscrowd=0,
                    num_keypoints=17,
                    keypoints=[round(float(v), 2) for v in pts.ravel()],
                    bbox=[x0, y0, bw, bh],
                    area=float(bw * bh) * 0.53))
    ann = dict(
        images=images,
        annotations=annotations,
        categories=[
            dict(
                supercategory='person',
                id=1,
                name='person',
                keypoints=list(COCO_KEYPOINTS),
                skeleton=[[16, 14], [14, 12], [17, 15], [15, 13], [12, 13],
                          [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10],
                          [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5],
                          [4, 6], [5, 7]])
        ])
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    ann_file = osp.join(root, 'annotations', 'person_keypoints.json')
    with open(ann_file, 'w') as f:
        json.dump(ann, f)
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = cfg[key].dataset
        dataset.update(
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
    cfg = load_config(shipped_path('configs', METHODS[method][0]))
    if settings.smoke:
        if cfg.default_scope == POSE_SCOPE:
            shrink_pose(cfg)
        else:
            shrink_seg(cfg, method)
    cfg.model.pop('pretrained', None)
    if cfg.model.get('backbone', {}).get('init_cfg'):
        cfg.model.backbone.init_cfg = None  # no weights are downloaded
    if settings.cfg_options:
        cfg.merge_from_dict(copy.deepcopy(settings.cfg_options))
    root = osp.join(work_dir, 'data', method)
    if cfg.default_scope == POSE_SCOPE:
        write_coco_data(cfg, root)
    else:
        write_seg_data(cfg, root)
    if method in ONE_PROCESS_BATCH:
        cfg.train_dataloader.batch_size = ONE_PROCESS_BATCH[method]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
    path = osp.join(work_dir, 'configs', f'{method}.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
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
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                    'val_evaluator', 'test_evaluator'):
            cfg[key] = ours[key]
        cfg.model.head.decoder = ours.model.head.decoder
    else:
        cfg = load_config(shipped_path('configs', counterpart))
        cfg.model.data_preprocessor.size = ours.model.data_preprocessor.size
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.init_cfg = None
    if settings.smoke:
        cfg.model.backbone.extra = ours.model.backbone.extra
        if cfg.default_scope == POSE_SCOPE:
            cfg.model.head.in_channels = TINY_HRNET[0]
        else:
            cfg.model.decode_head.update(
                in_channels=list(TINY_HRNET), channels=sum(TINY_HRNET))
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
