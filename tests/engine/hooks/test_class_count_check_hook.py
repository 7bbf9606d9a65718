"""ClassCountCheckHook and check_class_counts on built heads and datasets."""
import os.path as osp

import pytest
import torch.nn as nn
from mmengine.runner import Runner
from mmseg.models.decode_heads import FCNHead

from conftest import DEMO_CONFIG
from mmext_pixel.engine import ClassCountCheckHook, ClassCountError
from mmext_pixel.engine.hooks import check_class_counts
from mmext_pixel.utils.run_config import load_config


class FakeDataset:

    def __init__(self, **metainfo):
        self.metainfo = metainfo


def seg_head(num_classes, class_weight=None, **kwargs):
    losses = [
        dict(type='CrossEntropyLoss', loss_weight=1.0),
        dict(
            type='CrossEntropyLoss',
            loss_weight=0.4,
            class_weight=class_weight,
            loss_name='loss_weighted')
    ]
    return FCNHead(
        in_channels=4,
        channels=4,
        num_convs=1,
        num_classes=num_classes,
        loss_decode=losses,
        **kwargs)


def segmentor(decode_head, auxiliary_head=None):
    model = nn.Module()
    model.decode_head = decode_head
    if auxiliary_head is not None:
        model.auxiliary_head = auxiliary_head
    return model


def classes(n):
    return FakeDataset(classes=tuple(f'c{i}' for i in range(n)))


def splits(train, val=None):
    pairs = [('train_dataloader.dataset', classes(train))]
    if val is not None:
        pairs.append(('val_dataloader.dataset', classes(val)))
    return pairs


def test_agreeing_counts_pass():
    model = segmentor(
        seg_head(3, class_weight=[1., 2., 3.]),
        nn.ModuleList([seg_head(3), seg_head(3)]))
    check_class_counts(model, splits(3, 3))


def test_head_with_more_classes_than_the_data():
    with pytest.raises(ClassCountError) as info:
        check_class_counts(segmentor(seg_head(19)), splits(3, 3))
    message = str(info.value)
    assert 'model.decode_head.num_classes=19' in message
    assert "train_dataloader.dataset (FakeDataset) has classes=3 ('c0', " \
        "'c1', 'c2')" in message
    assert 'val_dataloader.dataset' in message


def test_auxiliary_head_in_a_list_is_named_by_index():
    model = segmentor(seg_head(3), nn.ModuleList([seg_head(3), seg_head(5)]))
    with pytest.raises(ClassCountError) as info:
        check_class_counts(model, splits(3))
    message = str(info.value)
    assert 'model.auxiliary_head[1].num_classes=5' in message
    assert 'auxiliary_head[0]' not in message and 'decode_head' not in message


def test_class_weight_of_a_loss_list_entry():
    with pytest.raises(ClassCountError) as info:
        check_class_counts(
            segmentor(seg_head(19, class_weight=[0.5, 2.0])), splits(2))
    message = str(info.value)
    # the recipe's two weights with 19 classes: both keys and numbers named
    assert ('model.decode_head.loss_decode[1].class_weight has 2 entries, '
            'but model.decode_head.num_classes=19') in message
    assert 'model.decode_head.num_classes=19, but train_dataloader' in message


def test_single_loss_class_weight_against_the_data():
    head = FCNHead(
        in_channels=4,
        channels=4,
        num_convs=1,
        num_classes=3,
        loss_decode=dict(type='CrossEntropyLoss', class_weight=[1.] * 4))
    with pytest.raises(ClassCountError) as info:
        check_class_counts(segmentor(head), splits(3))
    assert 'model.decode_head.loss_decode.class_weight has 4 entries, but ' \
        'model.decode_head.num_classes=3' in str(info.value)


def test_sigmoid_head_with_one_channel_is_two_classes():
    head = FCNHead(
        in_channels=4,
        channels=4,
        num_convs=1,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    check_class_counts(segmentor(head), splits(2))
    with pytest.raises(ClassCountError, match='out_channels=1'):
        check_class_counts(segmentor(head), splits(3))


def test_train_and_val_datasets_disagree():
    with pytest.raises(ClassCountError) as info:
        check_class_counts(segmentor(seg_head(3)), splits(3, 4))
    message = str(info.value)
    assert 'val_dataloader.dataset (FakeDataset) has classes=4' in message
    assert 'train_dataloader.dataset (FakeDataset) has classes=3' in message


def test_pose_head_channels_against_keypoints():
    from mmengine.registry import init_default_scope
    from mmpose.models.heads import HeatmapHead
    init_default_scope('mmpose')
    model = nn.Module()
    model.head = HeatmapHead(
        in_channels=4, out_channels=17, deconv_out_channels=None)
    check_class_counts(
        model, [('train_dataloader.dataset', FakeDataset(num_keypoints=17))])
    with pytest.raises(ClassCountError) as info:
        check_class_counts(
            model, [('val_dataloader.dataset', FakeDataset(num_keypoints=14))])
    assert 'model.head.out_channels=17, but val_dataloader.dataset ' \
        '(FakeDataset) has num_keypoints=14' in str(info.value)


def test_our_config_stops_a_stock_runner_before_training(
        tmp_path, synthetic_root):
    """mmseg's tools/train.py builds a plain Runner from the config: the
    hook comes with our configs' base and raises before the first step."""
    cfg = load_config(DEMO_CONFIG)
    assert {'type': 'ClassCountCheckHook'} in cfg.custom_hooks
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.data_root = f'{synthetic_root}/'
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.model.decode_head.num_classes = 19
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    hooks = [h for h in runner.hooks if isinstance(h, ClassCountCheckHook)]
    assert len(hooks) == 1
    with pytest.raises(ClassCountError, match='num_classes=19'):
        runner.train()
    assert runner.iter == 0
    assert not [f for f in tmp_path.glob('work/*.pth')]
    assert osp.isdir(tmp_path / 'work')


def test_gsto_backbone_intermediate_predictions():
    from helpers.tiny_gsto import tiny_extra
    from mmext_pixel.models.backbones import GSTOHRNet
    model = segmentor(seg_head(3))
    model.backbone = GSTOHRNet(num_classes=4, extra=tiny_extra())
    with pytest.raises(ClassCountError) as info:
        check_class_counts(model, splits(3))
    assert str(info.value).endswith(
        'model.backbone.num_classes=4, but train_dataloader.dataset '
        "(FakeDataset) has classes=3 ('c0', 'c1', 'c2')")
