import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Gaussian blur with a fixed kernel, applied with a probability (SPNet).

    houqb/SPNet and hszhao/semseg ``util/transform.py``
    ``RandomGaussianBlur``: with probability 0.5 ``cv2.GaussianBlur``, 5x5
    and sigma 0 (OpenCV's binomial ``[1, 4, 6, 4, 1] / 16``), borders
    reflected (OpenCV's default).

    Args:
        prob (float): Probability of blurring. Defaults to 0.5.
        kernel_size (int): Odd kernel size. Defaults to 5.
    """

    def __init__(self, prob: float = 0.5, kernel_size: int = 5) -> None:
        if not 0 <= prob <= 1 or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError('RandomGaussianBlur needs 0 <= prob <= 1 and an '
                             f'odd kernel_size, got {prob}, {kernel_size}')
        self.prob = prob
        self.kernel_size = kernel_size

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            k = self.kernel_size
            results['img'] = cv2.GaussianBlur(results['img'], (k, k), 0)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'kernel_size={self.kernel_size})')
