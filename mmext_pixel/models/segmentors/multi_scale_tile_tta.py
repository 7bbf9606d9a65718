import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from .flip_swap_tta import label_pairs, swapped_channel_order

VIEW_MERGES = ('exp_mean_logits', 'exp_sum_logits', 'mean_softmax')
SCALE_MERGES = ('sum', 'mean')
ROUNDINGS = ('half_up', 'ceil', 'half_even')
PAD_VALUES = ('black', 'mean', None)
PAD_POSITIONS = ('bottom_right', 'center')


@MODELS.register_module()
class MultiScaleTileTTAModel(BaseTTAModel):
    """Multi-scale, tiled and flipped test as the papers' evaluation scripts
    compute it.

    mmseg's ``SegTTAModel`` averages the softmaxes of resized and flipped
    views. HRNet and GSTO (HRNet's ``lib/datasets/base_dataset.py``),
    PyTorch-Encoding (``MultiEvalModule``) and SPNet / PSPNet (hszhao's
    semseg ``tool/test.py``) instead resize the normalised image per scale,
    cut it into windows, score each window with its mirror (``exp`` of the
    averaged or summed logits, or the mean softmax), average the windows,
    resize back and sum or average the scales; where views disagree that
    picks other classes. Configs select it as ``tta_model`` with one view
    per image (a ``tta_pipeline`` without resizes or flips).

    Args:
        module (dict | nn.Module): The segmentor; its ``encode_decode``
            gives the logits of a window at the window's size.
        scales (Sequence[float]): Scale factors of ``base_size``.
            Defaults to (1.0, ).
        flip (bool): Also run each window mirrored. Defaults to True.
        flip_label_pairs (Sequence[tuple[int, int]]): Classes that trade
            places in a mirrored window (LIP's left/right arm, leg, shoe).
            Defaults to ().
        base_size (int, optional): The longer side at scale 1; None takes
            the view's longer side. Defaults to None.
        rounding (str): The scaled size: ``'half_up'`` (HRNet: longer side
            ``int(base * s + 0.5)``, shorter side rounded half up),
            ``'ceil'`` (PyTorch-Encoding: longer side rounded up, shorter
            half up) or ``'half_even'`` (semseg: Python's ``round``).
            Defaults to 'half_up'.
        crop_size (tuple[int, int]): Window (h, w). Defaults to
            (512, 1024).
        stride (tuple[int, int]): Window stride (h, w). Defaults to
            (341, 682).
        whole_max_scale (float, optional): Scales up to this one run the
            whole (unpadded) image in one pass (GSTO's Cityscapes test:
            1.0). Defaults to None.
        end_aligned (bool): Shift a window that would cross the border back
            inside (GSTO's Cityscapes test, semseg) instead of padding it
            (HRNet, PyTorch-Encoding). Defaults to False.
        pad_value (str, optional): An image or window smaller than the
            window size is padded with ``'black'`` (the normalised 0 pixel:
            HRNet, PyTorch-Encoding) or the ``'mean'`` (0 after
            normalisation: semseg); None runs it smaller, unpadded (GSTO's
            Cityscapes test). Defaults to 'black'.
        pad_position (str): ``'bottom_right'`` (HRNet, PyTorch-Encoding) or
            ``'center'`` (semseg). Defaults to 'bottom_right'.
        view_merge (str): A window and its mirror become scores as
            ``'exp_mean_logits'`` (HRNet), ``'exp_sum_logits'``
            (PyTorch-Encoding) or ``'mean_softmax'`` (semseg). Defaults to
            'exp_mean_logits'.
        scale_merge (str): ``'sum'`` (HRNet, PyTorch-Encoding) or ``'mean'``
            (semseg) over scales. Defaults to 'sum'.
        img_align_corners (bool): ``align_corners`` of the bilinear resize
            of the image to each scale (``cv2.INTER_LINEAR`` is False).
            Defaults to False.
        align_corners (bool): ``align_corners`` of the bilinear resize of
            each scale's scores back to the view's size. Defaults to False.
        data_preprocessor (dict, optional): Passed to ``BaseTTAModel``.
            Defaults to None.
    """

    def __init__(self,
                 module: Union[dict, torch.nn.Module],
                 scales: Sequence[float] = (1.0, ),
                 flip: bool = True,
                 flip_label_pairs: Sequence[Tuple[int, int]] = (),
                 base_size: Optional[int] = None,
                 rounding: str = 'half_up',
                 crop_size: Tuple[int, int] = (512, 1024),
                 stride: Tuple[int, int] = (341, 682),
                 whole_max_scale: Optional[float] = None,
                 end_aligned: bool = False,
                 pad_value: Optional[str] = 'black',
                 pad_position: str = 'bottom_right',
                 view_merge: str = 'exp_mean_logits',
                 scale_merge: str = 'sum',
                 img_align_corners: bool = False,
                 align_corners: bool = False,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        for name, value, allowed in (
            ('rounding', rounding, ROUNDINGS),
            ('pad_value', pad_value, PAD_VALUES),
            ('pad_position', pad_position, PAD_POSITIONS),
            ('view_merge', view_merge, VIEW_MERGES),
            ('scale_merge', scale_merge, SCALE_MERGES),
        ):
            if value not in allowed:
                raise ValueError(f'{type(self).__name__}: {name}={value!r} '
                                 f'is not one of {allowed}')
        if not scales:
            raise ValueError(f'{type(self).__name__}: scales is empty')
        self.scales = [float(s) for s in scales]
        self.flip = flip
        self.flip_label_pairs = label_pairs(flip_label_pairs)
        self.base_size = base_size
        self.rounding = rounding
        self.crop_size = tuple(int(c) for c in crop_size)
        self.stride = tuple(int(s) for s in stride)
        if len(self.crop_size) != 2 or len(self.stride) != 2 or \
                min(self.stride) < 1 or min(self.crop_size) < 1:
            raise ValueError(f'{type(self).__name__}: crop_size and stride '
                             'are (h, w) pairs of positive integers, got '
                             f'{crop_size} and {stride}')
        self.whole_max_scale = whole_max_scale
        self.end_aligned = end_aligned
        self.pad_value = pad_value
        self.pad_position = pad_position
        self.view_merge = view_merge
        self.scale_merge = scale_merge
        self.img_align_corners = img_align_corners
        self.align_corners = align_corners

    # sizes ---------------------------------------------------------------
    def scaled_size(self, height: int, width: int,
                    scale: float) -> Tuple[int, int]:
        """(h, w) of an image of ``height`` x ``width`` at ``scale``."""
        base = self.base_size or max(height, width)
        if self.rounding == 'half_even':
            longer = round(scale * base)
            if height > width:
                return longer, round(longer / float(height) * width)
            return round(longer / float(width) * height), longer
        if self.rounding == 'ceil':
            longer = int(math.ceil(base * scale))
        else:
            longer = int(base * scale + 0.5)
        if height > width:
            return longer, int(1.0 * width * longer / height + 0.5)
        return int(1.0 * height * longer / width + 0.5), longer

    # one window ----------------------------------------------------------
    def _logits(self, window: Tensor) -> Tensor:
        meta = dict(
            img_shape=tuple(window.shape[-2:]),
            ori_shape=tuple(window.shape[-2:]),
            pad_shape=tuple(window.shape[-2:]))
        return self.module.encode_decode(window, [meta])

    def _swap_pairs(self, logits: Tensor) -> Tensor:
        if not self.flip_label_pairs:
            return logits
        return logits[:,
                      swapped_channel_order(self.flip_label_pairs, logits.
                                            shape[1])]

    def window_scores(self, window: Tensor) -> Tensor:
        """Scores of one window (1, 3, h, w) and, with ``flip``, its
        mirror image."""
        logits = self._logits(window)
        if self.flip:
            mirrored = self._swap_pairs(self._logits(window.flip(-1)).flip(-1))
        if self.view_merge == 'mean_softmax':
            scores = logits.softmax(dim=1)
            if self.flip:
                scores = (scores + mirrored.softmax(dim=1)) / 2
            return scores
        if self.flip:
            logits = logits + mirrored
            if self.view_merge == 'exp_mean_logits':
                logits = logits * 0.5
        return logits.exp()

    # one scale -----------------------------------------------------------
    def _pad(self, img: Tensor, pad_h: int, pad_w: int,
             centre: bool) -> Tensor:
        if (pad_h <= 0 and pad_w <= 0) or self.pad_value is None:
            return img
        pad_h, pad_w = max(pad_h, 0), max(pad_w, 0)
        top, left = (pad_h // 2, pad_w // 2) if centre else (0, 0)
        padded = img.new_empty(img.shape[:2] +
                               (img.shape[2] + pad_h, img.shape[3] + pad_w))
        padded[:] = self._pad_fill(img).view(1, -1, 1, 1)
        padded[:, :, top:top + img.shape[2], left:left + img.shape[3]] = img
        return padded

    def _pad_fill(self, img: Tensor) -> Tensor:
        if self.pad_value == 'mean':
            return img.new_zeros(img.shape[1])
        pre = self.module.data_preprocessor
        mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
        if mean is None or std is None:
            return img.new_zeros(img.shape[1])  # not normalised: black is 0
        return (-mean / std).view(-1).to(img)

    def _slide(self, img: Tensor) -> Tensor:
        crop_h, crop_w = self.crop_size
        stride_h, stride_w = self.stride
        height, width = img.shape[-2:]
        centre = self.pad_position == 'center'
        pad_h, pad_w = max(crop_h - height, 0), max(crop_w - width, 0)
        if self.pad_value is None:
            pad_h = pad_w = 0
        img = self._pad(img, pad_h, pad_w, centre)
        full_h, full_w = img.shape[-2:]
        # an unpadded image smaller than the window is one window
        rows = max(int(math.ceil((full_h - crop_h) / stride_h)), 0) + 1
        cols = max(int(math.ceil((full_w - crop_w) / stride_w)), 0) + 1
        scores = count = None
        for r in range(rows):
            for c in range(cols):
                h0, w0 = r * stride_h, c * stride_w
                h1, w1 = min(h0 + crop_h, full_h), min(w0 + crop_w, full_w)
                if self.end_aligned:
                    h0, w0 = max(h1 - crop_h, 0), max(w1 - crop_w, 0)
                window = img[:, :, h0:h1, w0:w1]
                window = self._pad(window, crop_h - (h1 - h0),
                                   crop_w - (w1 - w0), False)
                out = self.window_scores(window)[:, :, :h1 - h0, :w1 - w0]
                if scores is None:
                    scores = out.new_zeros(out.shape[:2] + (full_h, full_w))
                    count = out.new_zeros((1, 1, full_h, full_w))
                scores[:, :, h0:h1, w0:w1] += out
                count[:, :, h0:h1, w0:w1] += 1
        scores = scores / count
        top, left = (pad_h // 2, pad_w // 2) if centre else (0, 0)
        return scores[:, :, top:top + height, left:left + width]

    def image_scores(self, img: Tensor) -> Tensor:
        """Merged scores (1, C, H, W) of one normalised image (1, 3, H, W).
        """
        height, width = img.shape[-2:]
        total = None
        for scale in self.scales:
            size = self.scaled_size(height, width, scale)
            scaled = img if size == (height, width) else F.interpolate(
                img,
                size,
                mode='bilinear',
                align_corners=self.img_align_corners)
            if self.whole_max_scale is not None and \
                    scale <= self.whole_max_scale:
                scores = self.window_scores(scaled)
            else:
                scores = self._slide(scaled)
            if scores.shape[-2:] != (height, width):
                scores = F.interpolate(
                    scores, (height, width),
                    mode='bilinear',
                    align_corners=self.align_corners)
            total = scores if total is None else total + scores
        if self.scale_merge == 'mean':
            total = total / len(self.scales)
        return total

    # mmengine interface --------------------------------------------------
    def test_step(self, data: Union[dict, tuple, list]) -> SampleList:
        """Predict a batch from the ``tta_pipeline``'s single view."""
        if isinstance(data, dict):
            views = len(data[next(iter(data))])
            view = {key: value[0] for key, value in data.items()}
        else:
            views = len(data[0])
            view = [d[0] for d in data]
        if views != 1:
            raise ValueError(
                f'{type(self).__name__} resizes and mirrors each image '
                f'itself; the tta_pipeline must give one view per image '
                f'(no Resize/RandomFlip choices in TestTimeAug), got {views}')
        view = self.module.data_preprocessor(view, False)
        inputs, samples = view['inputs'], view['data_samples']
        for i, sample in enumerate(samples):
            h, w = sample.img_shape[:2]
            scores = self.image_scores(inputs[i:i + 1, :, :h, :w])
            ori_shape = tuple(sample.ori_shape[:2])
            if tuple(scores.shape[-2:]) != ori_shape:
                # the test pipeline resized the image (e.g. LIP's 473x473)
                scores = F.interpolate(
                    scores,
                    ori_shape,
                    mode='bilinear',
                    align_corners=self.align_corners)
            scores = scores[0]
            sample.set_data({
                'seg_logits':
                PixelData(data=scores),
                'pred_sem_seg':
                PixelData(data=scores.argmax(dim=0, keepdim=True))
            })
        return samples

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Not used: :meth:`test_step` merges inside each image."""
        raise NotImplementedError(f'{type(self).__name__} merges in test_step')
