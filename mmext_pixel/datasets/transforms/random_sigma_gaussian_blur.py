import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from scipy.ndimage import gaussian_filter


@TRANSFORMS.register_module()
class RandomSigmaGaussianBlur(BaseTransform):
    """Gaussian blur of every image with a random sigma (Gated-SCNN).

    nv-tlabs/GSCNN ``transforms/transforms.py`` ``RandomGaussianBlur``: sigma
    uniform in ``[0.15, 1.3)``, skimage's ``gaussian`` of the image in [0, 1]
    (per channel, edges repeated, 4 sigma), times 255 truncated to uint8.

    Args:
        sigma_min (float): Smallest sigma in pixels. Defaults to 0.15.
        sigma_span (float): Width of the sigma range. Defaults to 1.15.
    """

    def __init__(self, sigma_min: float = 0.15, sigma_span: float = 1.15):
        if sigma_min <= 0 or sigma_span < 0:
            raise ValueError('RandomSigmaGaussianBlur needs sigma_min > 0 and '
                             f'sigma_span >= 0, got {sigma_min}, {sigma_span}')
        self.sigma_min = sigma_min
        self.sigma_span = sigma_span

    def transform(self, results: dict) -> dict:
        sigma = self.sigma_min + np.random.random() * self.sigma_span
        img = results['img'] * (1. / 255)
        img = gaussian_filter(img, (sigma, sigma, 0), mode='nearest')
        results['img'] = (img * 255).astype(np.uint8)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sigma_min={self.sigma_min}, '
                f'sigma_span={self.sigma_span})')
