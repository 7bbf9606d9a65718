from numbers import Real
from typing import List, Optional, Tuple

from mmpose.datasets import CocoDataset
from mmpose.registry import DATASETS

IMAGE_KEYS = ('id', 'file_name', 'width', 'height')
ANNOTATION_KEYS = ('id', 'image_id', 'category_id', 'bbox', 'keypoints')
TOP_LEVEL_KEYS = ('images', 'annotations', 'categories')


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """MMPose's COCO keypoint data set, refusing malformed annotations that
    the stock one skips, reshapes or clips: a ValueError names the file,
    the entry and the fault.

    Args:
        bbox_tolerance (float): How far (pixels) a box may reach beyond the
            image border before it is an error. Default: 1.0.
        **kwargs: As :class:`mmpose.datasets.CocoDataset`.
    """

    def __init__(self, *args, bbox_tolerance: float = 1.0, **kwargs):
        self.bbox_tolerance = float(bbox_tolerance)
        super().__init__(*args, **kwargs)

    def _error(self, message: str) -> ValueError:
        return ValueError(f'{self.ann_file}: {message}')

    def _load_with_checks(self, load):
        try:
            result = load()
        except KeyError as e:  # the COCO api indexing entries
            raise self._error(f'an entry lacks the key {e}') from e
        self._check_file(self.coco.dataset)
        return result

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        return self._load_with_checks(super()._load_annotations)

    def _load_detection_results(self) -> List[dict]:
        return self._load_with_checks(super()._load_detection_results)

    def _check_file(self, dataset: dict) -> None:
        missing = [k for k in TOP_LEVEL_KEYS if k not in dataset]
        if missing:
            raise self._error(f'missing top-level key(s) {missing}')
        image_ids = set()
        for img in dataset['images']:
            self._check_image(img)
            image_ids.add(img['id'])
        for ann in dataset['annotations']:
            if ann.get('image_id') not in image_ids:
                raise self._error(
                    f'annotation id={ann.get("id")} refers to image_id='
                    f'{ann.get("image_id")}, which is not in "images"')

    def _check_image(self, img: dict) -> None:
        missing = [k for k in IMAGE_KEYS if k not in img]
        if missing:
            raise self._error(
                f'image entry id={img.get("id")} lacks key(s) {missing}')

    def _check_annotation(self, ann: dict, img: dict) -> None:
        where = f'annotation id={ann.get("id")} (image_id=' \
                f'{ann.get("image_id")})'
        missing = [k for k in ANNOTATION_KEYS if k not in ann]
        if missing:
            raise self._error(f'{where} lacks key(s) {missing}')
        num_keypoints = self.metainfo['num_keypoints']
        kpts = ann['keypoints']
        if not isinstance(kpts, (list, tuple)) or len(kpts) % 3:
            raise self._error(f'{where}: keypoints must be a flat list of '
                              '(x, y, v) triplets')
        if len(kpts) != 3 * num_keypoints:
            raise self._error(
                f'{where} has {len(kpts) // 3} keypoints; this data set '
                f'({self.metainfo["dataset_name"]}) has {num_keypoints}')
        bad_v = sorted({v for v in kpts[2::3] if v not in (0, 1, 2)})
        if bad_v:
            raise self._error(
                f'{where}: keypoint visibility must be 0, 1 or 2, got {bad_v}')
        bbox = ann['bbox']
        if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
                or not all(isinstance(v, Real) for v in bbox)):
            raise self._error(f'{where}: bbox must be [x, y, w, h], got '
                              f'{bbox!r}')
        x, y, w, h = bbox
        if w < 0 or h < 0:
            raise self._error(f'{where}: bbox {bbox} has a negative size')
        tol = self.bbox_tolerance
        if (x < -tol or y < -tol or x + w > img['width'] + tol
                or y + h > img['height'] + tol):
            raise self._error(
                f'{where}: bbox {bbox} ([x, y, w, h]) lies outside the '
                f'{img["width"]}x{img["height"]} image')

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        img = raw_data_info['raw_img_info']
        self._check_image(img)
        self._check_annotation(raw_data_info['raw_ann_info'], img)
        return super().parse_data_info(raw_data_info)
