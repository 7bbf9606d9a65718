"""tools/test.py --coco-test-dev: a GSTO pose config on COCO test-dev's
image-info file with detected person boxes writes the keypoint results JSON
that the COCO server takes."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT, run_tool
from helpers.tiny_gsto import tiny_extra

pytestmark = pytest.mark.slow  # every test here starts a process

TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
OUR_CONFIG = osp.join(REPO_ROOT, 'configs', 'gsto_pose',
                      'td-hm_gsto-hrnet-w32_8xb64-210e_coco-384x288.py')
IMAGES = {397133: (427, 640), 37777: (230, 352)}  # id: (h, w)
# COCO detection results format: person boxes (category 1) and others
DETECTIONS = [
    dict(
        image_id=397133,
        category_id=1,
        bbox=[40.5, 60.2, 90.0, 200.4],
        score=0.98),
    dict(
        image_id=397133,
        category_id=1,
        bbox=[400.0, 100.0, 120.0, 260.0],
        score=0.71),
    dict(
        image_id=397133,
        category_id=62,
        bbox=[300.0, 300.0, 50.0, 60.0],
        score=0.9),
    dict(
        image_id=37777,
        category_id=1,
        bbox=[10.0, 20.0, 60.0, 150.0],
        score=0.55),
]
NUM_PERSON_BOXES = 3

# the user's config: ours, with a tiny backbone so that it runs on a CPU in
# seconds; the data is where mmpose's layout puts it
USER_CONFIG = '''_base_ = [{base!r}]
data_root = {data_root!r}
codec = dict(
    type='MSRAHeatmap', input_size=(64, 96), heatmap_size=(16, 24), sigma=2)
model = dict(
    backbone=dict(
        extra={extra!r},
        init_cfg=None),
    head=dict(in_channels=(8, 16, 32, 64), decoder=codec))
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
test_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=val_pipeline))
'''


def image_info(categories):
    """image_info_test-dev2017.json's layout: info, licenses, images and
    categories, no annotations."""
    return dict(
        info=dict(description='COCO 2017 Dataset', version='1.0', year=2017),
        licenses=[
            dict(
                url='http://creativecommons.org/licenses/by/2.0/',
                id=4,
                name='Attribution License')
        ],
        images=[
            dict(
                license=4,
                file_name=f'{i:012d}.jpg',
                coco_url=f'http://images.cocodataset.org/test2017/'
                f'{i:012d}.jpg',
                height=h,
                width=w,
                date_captured='2013-11-14 17:02:52',
                id=i) for i, (h, w) in IMAGES.items()
        ],
        categories=categories)


@pytest.fixture(scope='module')
def test_dev(tmp_path_factory):
    base = tmp_path_factory.mktemp('coco_test_dev')
    root = base / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'test2017').mkdir()
    (root / 'person_detection_results').mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in IMAGES.items():
        cv2.imwrite(
            str(root / 'test2017' / f'{i:012d}.jpg'),
            rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    categories = [
        dict(supercategory='person', id=1, name='person'),
        dict(supercategory='vehicle', id=2, name='bicycle'),
        dict(supercategory='furniture', id=62, name='chair')
    ]
    (root / 'annotations' / 'image_info_test-dev2017.json').write_text(
        json.dumps(image_info(categories)))
    (root / 'person_detection_results' /
     'COCO_test-dev2017_detections_AP_H_609_person.json').write_text(
         json.dumps(DETECTIONS))
    cfg_path = base / 'my_gsto_pose_test_dev.py'
    cfg_path.write_text(
        USER_CONFIG.format(
            base=OUR_CONFIG, data_root=str(root) + '/', extra=tiny_extra()))
    from mmpose.registry import MODELS

    import mmext_pixel  # noqa: F401
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(cfg_path)).model)
    ckpt = base / 'tiny.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return dict(base=base, root=root, cfg_path=cfg_path, ckpt=ckpt)


def test_writes_the_servers_keypoint_results(test_dev):
    work_dir = test_dev['base'] / 'work'
    proc = run_tool([
        TEST,
        str(test_dev['cfg_path']),
        str(test_dev['ckpt']), '--coco-test-dev', '--work-dir',
        str(work_dir)
    ],
                    cwd=str(test_dev['base']))
    results_file = work_dir / 'coco_test-dev.keypoints.json'
    assert f'keypoint results for the server are written to ' \
        f'{results_file}' in proc.stdout
    assert 'flip test: on (config)' in proc.stdout
    results = json.loads(results_file.read_text())
    # one result per detected person box (the chair is left out), in the
    # COCO keypoint results format
    assert len(results) == NUM_PERSON_BOXES
    assert sorted(r['image_id'] for r in results) == [37777, 397133, 397133]
    boxes = {(d['image_id'], d['score']): d['bbox']
             for d in DETECTIONS if d['category_id'] == 1}
    for r in results:
        assert {'image_id', 'category_id', 'keypoints', 'score'} <= set(r)
        assert r['category_id'] == 1
        assert len(r['keypoints']) == 17 * 3
        assert all(isinstance(v, float) for v in r['keypoints'])
        assert isinstance(r['score'], float)
        kpts = np.array(r['keypoints']).reshape(17, 3)
        # the keypoints are found in (the padded crop of) one of the image's
        # boxes, in image pixels
        near = []
        for (img_id, _), (x, y, w, h) in boxes.items():
            if img_id != r['image_id']:
                continue
            near.append(
                np.all((kpts[:, 0] >= x - w) & (kpts[:, 0] <= x + 2 * w)
                       & (kpts[:, 1] >= y - h) & (kpts[:, 1] <= y + 2 * h)))
        assert any(near), kpts
        # the third value is the keypoint score (heatmap maximum)
        assert np.all(np.isfinite(kpts[:, 2]))


def test_missing_detections_are_named(test_dev, tmp_path):
    missing = tmp_path / 'dets.json'
    proc = run_tool([
        TEST,
        str(test_dev['cfg_path']),
        str(test_dev['ckpt']), '--coco-test-dev',
        str(missing), '--work-dir',
        str(tmp_path / 'work')
    ],
                    cwd=str(tmp_path),
                    check=False)
    assert proc.returncode != 0
    assert f'detection results {missing} does not exist' in proc.stdout
