from typing import List, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageEnhance

_ENHANCERS = (ImageEnhance.Brightness, ImageEnhance.Contrast,
              ImageEnhance.Color)


def color_jitter(img: np.ndarray, factors: Tuple[float, float, float, float],
                 order: List[int]) -> np.ndarray:
    """Brightness, contrast, saturation and hue factors on a BGR image, as
    torchvision's ``ColorJitter`` on a PIL image computes them.

    Args:
        img (np.ndarray): uint8 BGR image (H, W, 3).
        factors (tuple[float]): brightness, contrast, saturation (1: no
            change) and hue (0: no change, in [-0.5, 0.5]).
        order (list[int]): indices into ``factors``, applied in this order;
            an index left out is not applied.
    """
    pil = Image.fromarray(np.ascontiguousarray(img[..., ::-1]))
    for i in order:
        if i < 3:
            pil = _ENHANCERS[i](pil).enhance(factors[i])
        else:
            h, s, v = pil.convert('HSV').split()
            shift = np.int64(factors[3] * 255).astype(np.uint8)
            h = Image.fromarray(np.asarray(h, np.uint8) + shift, 'L')
            pil = Image.merge('HSV', (h, s, v)).convert('RGB')
    return np.ascontiguousarray(np.asarray(pil)[..., ::-1])


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """torchvision's ``ColorJitter`` on mmseg's BGR image as Gated-SCNN
    uses it (nv-tlabs/GSCNN ``transforms/transforms.py``, all four at
    ``--color_aug 0.25``): factors drawn in order, applied in random order.

    Args:
        brightness (float): Brightness strength. Defaults to 0.
        contrast (float): Contrast strength. Defaults to 0.
        saturation (float): Saturation strength. Defaults to 0.
        hue (float): Hue strength, in [0, 0.5]. Defaults to 0.
    """

    def __init__(self,
                 brightness: float = 0.,
                 contrast: float = 0.,
                 saturation: float = 0.,
                 hue: float = 0.) -> None:
        strengths = (brightness, contrast, saturation, hue)
        if min(strengths) < 0 or hue > 0.5:
            raise ValueError('ColorJitter strengths must be >= 0 and hue <= '
                             f'0.5, got {strengths}')
        self.strengths = strengths

    def transform(self, results: dict) -> dict:
        factors, active = [1., 1., 1., 0.], []
        for i, x in enumerate(self.strengths):
            if x > 0:
                low, high = (-x, x) if i == 3 else (max(0., 1 - x), 1 + x)
                factors[i] = np.random.uniform(low, high)
                active.append(i)
        np.random.shuffle(active)
        results['img'] = color_jitter(results['img'], tuple(factors), active)
        return results

    def __repr__(self) -> str:
        b, c, s, h = self.strengths
        return (f'{self.__class__.__name__}(brightness={b}, contrast={c}, '
                f'saturation={s}, hue={h})')
