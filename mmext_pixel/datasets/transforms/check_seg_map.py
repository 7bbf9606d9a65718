import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CheckSegMap(BaseTransform):
    """After ``LoadAnnotations``, a ValueError naming a label map not of its
    image's ``ori_shape`` or holding values neither classes nor ignored.

    Args:
        num_classes (int): Number of classes of the dataset.
        ignore_index (int): Label value that is allowed besides the classes.
            Defaults to 255.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        seg_map = results.get('gt_seg_map')
        if seg_map is None:
            return results
        where = results.get('seg_map_path', '<label map>')
        img_shape = tuple(results.get('ori_shape', results['img'].shape[:2]))
        if seg_map.shape[:2] != img_shape:
            raise ValueError(
                f'label map {where} has size {seg_map.shape[:2]} (h, w) but '
                f'its image {results.get("img_path")} has size {img_shape}')
        values = np.unique(seg_map)
        bad = values[((values < 0) | (values >= self.num_classes))
                     & (values != self.ignore_index)]
        if bad.size:
            raise ValueError(
                f'label map {where} holds values {bad.tolist()} outside '
                f'[0, {self.num_classes}) that are not the ignore index '
                f'{self.ignore_index}')
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
