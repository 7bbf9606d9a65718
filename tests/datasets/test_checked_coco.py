"""CheckedCocoDataset: the stock COCO keypoint reading, with clear errors
for malformed annotation files."""
import copy
import json

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from helpers.synthetic_coco_keypoints import make_synthetic_coco_keypoints


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('checked_coco')
    data = make_synthetic_coco_keypoints(
        str(root), num_train=3, num_val=2, img_size=(96, 64), seed=3)
    with open(data['train']['ann_file']) as f:
        return root, json.load(f)


def build(dataset_type, root, ann_file, **kwargs):
    from mmpose.registry import DATASETS
    init_default_scope('mmpose')
    return DATASETS.build(
        dict(
            type=dataset_type,
            data_root=str(root),
            ann_file=str(ann_file),
            data_prefix=dict(img='images/train/'),
            **kwargs))


def write(root, coco, name):
    path = root / 'annotations' / name
    path.write_text(json.dumps(coco))
    return path


def test_valid_file_reads_as_stock_coco(coco_root):
    root, coco = coco_root
    ann_file = write(root, coco, 'valid.json')
    ours = build('CheckedCocoDataset', root, ann_file)
    stock = build('CocoDataset', root, ann_file)
    assert len(ours) == len(stock) == len(coco['annotations'])
    for i in range(len(ours)):
        a, b = ours.get_data_info(i), stock.get_data_info(i)
        assert a['id'] == b['id']
        np.testing.assert_array_equal(a['bbox'], b['bbox'])
        np.testing.assert_array_equal(a['keypoints'], b['keypoints'])
        np.testing.assert_array_equal(a['keypoints_visible'],
                                      b['keypoints_visible'])


def first_ann(coco):
    return coco['annotations'][0]


def drop_bbox(coco):
    del first_ann(coco)['bbox']


def sixteen_keypoints(coco):
    first_ann(coco)['keypoints'] = first_ann(coco)['keypoints'][:48]


def bbox_outside(coco):
    img = coco['images'][0]
    first_ann(coco)['bbox'] = [10.0, 5.0, img['width'], 20.0]


def bad_visibility(coco):
    first_ann(coco)['keypoints'][2] = 3


def negative_size(coco):
    first_ann(coco)['bbox'][3] = -4.0


def image_without_width(coco):
    del coco['images'][0]['width']


def no_annotations(coco):
    del coco['annotations']


def unknown_image(coco):
    first_ann(coco)['image_id'] = 424242


def ann_without_image_id(coco):
    del first_ann(coco)['image_id']


@pytest.mark.parametrize('corrupt,message', [
    (drop_bbox, r"annotation id=1 \(image_id=1\) lacks key\(s\) \['bbox'\]"),
    (sixteen_keypoints, r'annotation id=1 \(image_id=1\) has 16 keypoints; '
     r'this data set \(coco\) has 17'),
    (bbox_outside, r'bbox \[10.0, 5.0, 96, 20.0\] .* lies outside the '
     r'96x64 image'),
    (bad_visibility, r'visibility must be 0, 1 or 2, got \[3\]'),
    (negative_size, 'has a negative size'),
    (image_without_width, r"image entry id=1 lacks key\(s\) \['width'\]"),
    (no_annotations, r"missing top-level key\(s\) \['annotations'\]"),
    (unknown_image, 'refers to image_id=424242, which is not in "images"'),
    (ann_without_image_id, "an entry lacks the key 'image_id'"),
])
def test_malformed_file_is_a_clear_error(coco_root, corrupt, message):
    root, coco = coco_root
    bad = copy.deepcopy(coco)
    corrupt(bad)
    ann_file = write(root, bad, f'{corrupt.__name__}.json')
    with pytest.raises(ValueError, match=message) as info:
        build('CheckedCocoDataset', root, ann_file)
    assert str(info.value).startswith(f'{ann_file}: ')


def test_stock_coco_dataset_would_pass_them_silently(coco_root):
    """Why the check exists: mmpose's reader drops or clips these."""
    root, coco = coco_root
    bad = copy.deepcopy(coco)
    drop_bbox(bad)
    stock = build('CocoDataset', root, write(root, bad, 'stock_nobox.json'))
    assert len(stock) == len(coco['annotations']) - 1  # dropped
    bad = copy.deepcopy(coco)
    bbox_outside(bad)
    stock = build('CocoDataset', root, write(root, bad, 'stock_out.json'))
    x1, _, x2, _ = stock.get_data_info(0)['bbox'][0]
    assert (x1, x2) == (10, coco['images'][0]['width'] - 1)  # clipped


def test_bbox_tolerance(coco_root):
    root, coco = coco_root
    bad = copy.deepcopy(coco)
    img = bad['images'][0]
    first_ann(bad)['bbox'] = [-0.5, 0.0, img['width'] + 0.5, 10.0]
    ann_file = write(root, bad, 'slightly_outside.json')
    build('CheckedCocoDataset', root, ann_file)  # within 1 pixel
    with pytest.raises(ValueError, match='lies outside'):
        build('CheckedCocoDataset', root, ann_file, bbox_tolerance=0.25)


def test_detection_boxes_path_checks_the_images(coco_root, tmp_path):
    root, coco = coco_root
    dets = [
        dict(
            image_id=coco['images'][0]['id'],
            category_id=1,
            bbox=[1, 1, 20, 30],
            score=0.9)
    ]
    bbox_file = tmp_path / 'dets.json'
    bbox_file.write_text(json.dumps(dets))
    ok = build(
        'CheckedCocoDataset',
        root,
        write(root, coco, 'det_ok.json'),
        bbox_file=str(bbox_file),
        test_mode=True)
    assert len(ok) == 1
    bad = copy.deepcopy(coco)
    del bad['images'][0]['file_name']
    ann_file = write(root, bad, 'det_bad.json')
    with pytest.raises(ValueError, match=f"{ann_file}: .*'file_name'"):
        build(
            'CheckedCocoDataset',
            root,
            ann_file,
            bbox_file=str(bbox_file),
            test_mode=True)
