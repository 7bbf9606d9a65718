import mmcv
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ScoreAtInputSize(BaseTransform):
    """Optionally score at the network input size instead of the original.

    HRNet's and GSTO's LIP evaluation (``lib/datasets/lip.py``: the val list
    is no ``testval`` list, so ``__getitem__`` resizes image and label to
    473x473, the label nearest) compares the prediction with the label at
    473x473. mmseg compares them at the original size: the label as loaded,
    the prediction resized back to ``ori_shape``. Enabled, this transform
    gives the official protocol: it resizes the label to the resized image
    (nearest, as ``cv2.INTER_NEAREST``) and sets ``ori_shape`` to it, so the
    segmentor leaves its prediction at that size. Place it after
    ``Resize`` and ``LoadAnnotations``. Disabled (the default) it changes
    nothing.

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
