from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandScale(BaseTransform):
    """Rescale image and label by a random factor of their own size.

    hszhao/semseg and houqb/SPNet ``util/transform.py`` ``RandScale``: a
    factor uniform in ``scale_range`` of the image's own size (not a fixed
    one, as ``RandomResize``), bilinear image and nearest label.

    Args:
        scale_range (tuple[float]): Range of the factor.
    """

    def __init__(self, scale_range: Tuple[float, float]) -> None:
        if not 0 < scale_range[0] < scale_range[1]:
            raise ValueError('scale_range must be (low, high) with 0 < low < '
                             f'high, got {scale_range}')
        self.scale_range = tuple(scale_range)

    def transform(self, results: dict) -> dict:
        low, high = self.scale_range
        f = low + (high - low) * np.random.random()
        for key in ['img'] + results.get('seg_fields', []):
            inter = cv2.INTER_LINEAR if key == 'img' else cv2.INTER_NEAREST
            results[key] = cv2.resize(
                results[key], None, fx=f, fy=f, interpolation=inter)
        h, w = results['img'].shape[:2]
        results['img_shape'] = (h, w)
        results['scale_factor'] = (f, f)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale_range={self.scale_range})'
