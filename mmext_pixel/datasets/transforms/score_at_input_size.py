import mmcv
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ScoreAtInputSize(BaseTransform):
    """Optionally score at the network input size as HRNet's and GSTO's LIP
    evaluation (``lib/datasets/lip.py``: the val label resized to 473x473,
    nearest), not the original size: after ``Resize`` and
    ``LoadAnnotations`` the label is resized to the image, ``ori_shape`` too.

    Args:
        enabled (bool): Score at the input size. Defaults to False.
    """

    def __init__(self, enabled: bool = False) -> None:
        if not isinstance(enabled, bool):
            raise TypeError(f'enabled = {enabled!r} must be True or False')
        self.enabled = enabled

    def transform(self, results: dict) -> dict:
        if not self.enabled:
            return results
        h, w = results['img'].shape[:2]
        seg_map = results.get('gt_seg_map')
        if seg_map is not None and seg_map.shape[:2] != (h, w):
            results['gt_seg_map'] = mmcv.imresize(
                seg_map, (w, h), interpolation='nearest')
        results['ori_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(enabled={self.enabled})'
