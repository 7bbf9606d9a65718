"""--aug-test (mmext_pixel.apis.tester, what tools/test.py runs) swaps
left/right scores for datasets that declare class pairs (LIP), with no extra
line in the user's config."""
import glob
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from conftest import REPO_ROOT
from helpers.tiny_fcn_user_config import (TINY_FCN_USER_MODEL,
                                          build_user_model, save_checkpoint)
from mmext_pixel.apis.tester import prepare_test, run_test
from mmext_pixel.datasets.lip_parsing import LIP_FLIP_PAIRS
from mmext_pixel.utils.run_config import enable_test_time_aug, load_config

LIP_BASE = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'lip.py')
NUM_CLASSES = 20
IMG_H, IMG_W = 48, 64

# A user's own config: our LIP dataset base, mmseg's runtime (whose
# tta_model is the plain SegTTAModel) and schedule, and a tiny FCN; nothing
# about TTA.
USER_CONFIG = '''_base_ = [
    {lip_base!r}, 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
''' + TINY_FCN_USER_MODEL + '''test_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root={data_root!r}))
'''


@pytest.fixture(scope='module')
def lip(tmp_path_factory):
    """Two val images in LIP's official layout, a user config and a
    checkpoint of its tiny model whose left/right class scores dominate."""
    base = tmp_path_factory.mktemp('lip_tta')
    root = base / 'data'
    img_dir = root / 'lip' / 'TrainVal_images' / 'val_images'
    ann_dir = root / 'lip' / 'TrainVal_parsing_annotations' / \
        'val_segmentations'
    img_dir.mkdir(parents=True)
    ann_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ('100034_483681', '100142_449784'):
        # noise brighter on the left: no image is its own mirror image
        img = rng.integers(0, 256, (IMG_H, IMG_W, 3)).astype(np.float32)
        img *= np.linspace(1.0, 0.3, IMG_W)[None, :, None]
        cv2.imwrite(str(img_dir / f'{name}.jpg'), img.astype(np.uint8))
        label = rng.integers(0, NUM_CLASSES, (IMG_H, IMG_W), dtype=np.uint8)
        cv2.imwrite(str(ann_dir / f'{name}.png'), label)
    cfg_path = base / 'my_lip_fcn.py'
    # builds in mmseg's scope: module fixtures run before conftest's
    cfg, model = build_user_model(
        cfg_path,
        USER_CONFIG.format(
            lip_base=osp.relpath(LIP_BASE, base),
            num_classes=NUM_CLASSES,
            data_root=str(root) + '/'))
    with torch.no_grad():
        # the six left/right classes win the argmax, so that which side a
        # score belongs to decides the labels
        model.decode_head.conv_seg.bias[14:20] += 4.
    ckpt = save_checkpoint(model, base / 'tiny.pth')
    return dict(
        base=base,
        root=root,
        cfg_path=cfg_path,
        cfg=cfg,
        ckpt=ckpt,
        images=sorted(glob.glob(str(img_dir / '*.jpg'))))


def scores(model, img):
    """Softmax scores of ``img`` (BGR uint8) at its own size."""
    inputs = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
    data = model.data_preprocessor(
        dict(inputs=[inputs], data_samples=[SegDataSample()]), False)
    logits = model.encode_decode(data['inputs'],
                                 [dict(img_shape=img.shape[:2])])
    return logits[0].softmax(dim=0)


def swapped_channels(num_classes, pairs):
    order = list(range(num_classes))
    for a, b in pairs:
        order[a], order[b] = b, a
    return order


def test_aug_test_swaps_left_right_scores_of_lip(lip):
    out_dir = lip['base'] / 'preds'
    work_dir = lip['base'] / 'work'
    notes = []
    test_cfg, dataset = prepare_test(
        load_config(str(lip['cfg_path'])),
        str(lip['cfg_path']),
        str(lip['ckpt']),
        work_dir=str(work_dir),
        out=str(out_dir),
        aug_test=True,
        aug_scales=[1],
        log=notes.append)
    assert any('flipped views swap the dataset\'s left/right classes '
               '[(14, 15), (16, 17), (18, 19)]' in note for note in notes)
    assert 'test split has labels: 2 samples, evaluating with IoUMetric' \
        in notes
    metrics = run_test(test_cfg, dataset)
    assert 0 <= metrics['mIoU'] <= 100
    dumped = Config.fromfile(str(work_dir / 'my_lip_fcn.py'))
    assert dumped.model.type == 'FlipSwapSegTTAModel'
    assert [tuple(p)
            for p in dumped.model.flip_label_pairs] == list(LIP_FLIP_PAIRS)

    model = MODELS.build(lip['cfg'].model)
    model.load_state_dict(torch.load(lip['ckpt'])['state_dict'])
    model.eval()
    order = swapped_channels(NUM_CLASSES, LIP_FLIP_PAIRS)
    differs = 0
    for path in lip['images']:
        img = mmcv.imread(path)  # as LoadImageFromFile reads it
        with torch.no_grad():
            plain = scores(model, img)
            mirrored_back = scores(model, mmcv.imflip(img)).flip(-1)
        swap_merge = ((plain + mirrored_back[order]) / 2).argmax(0).numpy()
        plain_merge = ((plain + mirrored_back) / 2).argmax(0).numpy()
        written = cv2.imread(
            str(out_dir / (osp.splitext(osp.basename(path))[0] + '.png')),
            cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(written, swap_merge)
        differs += int((swap_merge != plain_merge).sum())
    # the inputs make the swap matter: the unswapped merge is another answer
    assert differs > 0


def test_pairs_from_a_metainfo_override(synthetic_root):
    """A dataset without pairs of its own gets the swap from the config's
    ``metainfo``; without one it keeps mmseg's SegTTAModel."""
    from conftest import DEMO_CONFIG
    for metainfo, expected in ((None, 'SegTTAModel'), (dict(flip_pairs=[(1,
                                                                         2)]),
                                                       'FlipSwapSegTTAModel')):
        options = {'test_dataloader.dataset.data_root': f'{synthetic_root}/'}
        if metainfo:
            options['test_dataloader.dataset.metainfo'] = metainfo
        cfg = load_config(DEMO_CONFIG, options)
        swapped = enable_test_time_aug(cfg, DEMO_CONFIG, [1.0])
        assert cfg.model.type == expected
        if metainfo:
            assert swapped == [[1, 2]
                               ] and cfg.model.flip_label_pairs == [[1, 2]]
        else:
            assert swapped is None and 'flip_label_pairs' not in cfg.model


def test_explicit_pairs_of_the_config_are_kept(lip):
    cfg = load_config(str(lip['cfg_path']))
    cfg.tta_model = dict(type='FlipSwapSegTTAModel', flip_label_pairs=[[3, 4]])
    assert enable_test_time_aug(cfg, 'my_lip_fcn.py') is None
    assert cfg.model.flip_label_pairs == [[3, 4]]


@pytest.mark.parametrize(
    'config',
    sorted(glob.glob(osp.join(REPO_ROOT, 'configs', '[!_]*', '*lip*.py'))))
def test_our_lip_configs_set_the_swap_for_stock_tools(config):
    """mmseg's own tools/test.py --tta takes tta_model as it is: ours is
    HRNet's merge (MultiScaleTileTTAModel) with the swap."""
    cfg = load_config(config)
    if cfg.test_dataloader.dataset.type != 'LIPParsingDataset':
        pytest.fail(f'{config} matches *lip*.py but tests on '
                    f'{cfg.test_dataloader.dataset.type}')
    assert cfg.tta_model.type == 'MultiScaleTileTTAModel'
    assert [tuple(p)
            for p in cfg.tta_model.flip_label_pairs] == list(LIP_FLIP_PAIRS)
