"""What a test run (``apis.tester``) writes besides or instead of metrics:
predictions, Cityscapes and COCO test-server files; and all-ignore labels."""
import os
import os.path as osp
from typing import List, Optional

import mmcv
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmseg.datasets import CityscapesDataset

from .run_config import POSE_SCOPE

COCO_TEST_DEV_IMAGE_INFO = 'annotations/image_info_test-dev2017.json'
COCO_TEST_DEV_IMAGES = 'test2017/'
# the person detections of HRNet's and mmpose's test-dev numbers
COCO_TEST_DEV_DETECTIONS = (
    'person_detection_results/'
    'COCO_test-dev2017_detections_AP_H_609_person.json')


def _evaluators(cfg: Config) -> List[dict]:
    evaluators = cfg.test_evaluator
    return [evaluators] if isinstance(evaluators, dict) else list(evaluators)


def evaluator_names(cfg: Config) -> str:
    """The types of the config's test evaluators, for messages."""
    return ', '.join(str(e.get('type')) for e in _evaluators(cfg))


def set_prediction_output(cfg: Config, out: str) -> None:
    """``--out``: seg writes label PNGs to a folder, pose pickles results.

    Args:
        cfg (Config): The config, changed in place.
        out (str): A folder (seg) or a ``.pkl`` file (pose).
    """
    if cfg.default_scope == POSE_SCOPE:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out for pose configs is a .pkl file, got '
                             f'{out!r}')
        cfg.test_evaluator = _evaluators(cfg) + [
            dict(type='DumpResults', out_file_path=out)
        ]
        return
    os.makedirs(out, exist_ok=True)
    cfg.test_evaluator['output_dir'] = out
    cfg.test_evaluator['keep_results'] = True


def labels_all_ignored(dataset: BaseDataset) -> Optional[str]:
    """The first label map if all of a split's hold only the ignore index
    (the Cityscapes test split's after mmseg's converter), else None.

    Args:
        dataset (BaseDataset): A built seg dataset; a missing label map
            raises.
    """
    ignore = dataset.metainfo.get('ignore_index',
                                  getattr(dataset, 'ignore_index', 255))
    reduce_zero = dataset.metainfo.get('reduce_zero_label', False)
    first = None
    for i in range(len(dataset)):
        path = dataset.get_data_info(i).get('seg_map_path')
        if path is None:
            return None
        if not osp.isfile(path):
            raise FileNotFoundError(f'label map {path} (sample {i} of the '
                                    'test split) does not exist')
        label = mmcv.imread(path, flag='unchanged')
        first = first or path
        labelled = label != ignore
        if reduce_zero:  # 0 becomes the ignore index when loaded
            labelled &= label != 0
        if labelled.any():
            return None
    return first


def is_cityscapes(dataset: BaseDataset) -> bool:
    """Whether a built dataset is a mmseg ``CityscapesDataset``."""
    return isinstance(dataset, CityscapesDataset)


def set_cityscapes_submission(cfg: Config, out: str) -> None:
    """Write the Cityscapes test server's files (``CityscapesMetric`` with
    ``format_only``: predictions in label IDs).

    Args:
        cfg (Config): The config, changed in place.
        out (str): The folder for the PNGs.
    """
    try:
        import cityscapesscripts.helpers.labels  # noqa: F401
    except ImportError as e:
        raise ImportError(
            'writing Cityscapes test-server files needs the cityscapesscripts '
            'package (its label-ID table): pip install cityscapesscripts, '
            'or install mmext_pixel with the extra: pip install '
            '"mmext_pixel[cityscapes]"') from e
    os.makedirs(out, exist_ok=True)
    cfg.test_evaluator = dict(
        type='CityscapesMetric',
        output_dir=osp.abspath(out),
        format_only=True,
        keep_results=True)


def set_coco_test_dev(cfg: Config, detections: Optional[str] = None) -> str:
    """Run a COCO pose config (changed in place) on test-dev for the COCO
    server; returns the keypoint results JSON ``CocoMetric`` writes.

    Args:
        cfg (Config): A pose config whose test ``data_root`` holds
            :data:`COCO_TEST_DEV_IMAGE_INFO` and :data:`COCO_TEST_DEV_IMAGES`.
        detections (str, optional): Person detections JSON (mmpose's
            ``bbox_file``). Defaults to None
            (``DATA_ROOT/``:data:`COCO_TEST_DEV_DETECTIONS`).
    """
    dataset = cfg.test_dataloader.dataset
    data_root = dataset.get('data_root') or ''
    ann_file = osp.join(data_root, COCO_TEST_DEV_IMAGE_INFO)
    detections = detections or osp.join(data_root, COCO_TEST_DEV_DETECTIONS)
    for what, path in (('image-info file', ann_file), ('detection results',
                                                       detections)):
        if not osp.isfile(path):
            raise FileNotFoundError(f'COCO test-dev: {what} {path} does not '
                                    'exist')
    # no annotations to check: the stock dataset reads the image-info file
    dataset.update(
        type='CocoDataset',
        ann_file=COCO_TEST_DEV_IMAGE_INFO,
        bbox_file=detections,
        data_prefix=dict(img=COCO_TEST_DEV_IMAGES),
        test_mode=True)
    prefix = osp.abspath(osp.join(cfg.work_dir, 'coco_test-dev'))
    os.makedirs(osp.dirname(prefix), exist_ok=True)
    cfg.test_evaluator = dict(
        type='CocoMetric',
        ann_file=ann_file,
        format_only=True,
        outfile_prefix=prefix)
    return f'{prefix}.keypoints.json'
