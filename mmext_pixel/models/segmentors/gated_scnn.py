from contextlib import contextmanager
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

GRADIENT_MODES = ('image', 'official')


def official_uint8(x: np.ndarray) -> np.ndarray:
    """``x.astype(np.uint8)`` as x86 builds of numpy did it for floats:
    truncation towards zero, then wrap-around modulo 256."""
    return np.mod(np.trunc(x).astype(np.int64), 256).astype(np.uint8)


def canny_maps(images: np.ndarray, low: float, high: float) -> np.ndarray:
    """Canny edges (N, H, W) of uint8 images (N, H, W, C), values 0/255."""
    return np.stack(
        [cv2.Canny(np.ascontiguousarray(img), low, high) for img in images])


@MODELS.register_module()
class GatedSCNN(EncoderDecoder):
    """Encoder-decoder for Gated-SCNN: the head also sees the image gradient.

    From "Gated-SCNN: Gated Shape CNNs for Semantic Segmentation"
    (Takikawa et al., ICCV 2019). :meth:`extract_feat` appends the image's
    Canny map (N, 1, H, W) to the backbone features, so every
    :class:`EncoderDecoder` path hands it to the :class:`GatedShapeHead`;
    :meth:`predict` also stores each edge probability as ``pred_edge_map``.

    Args:
        gradient_mode (str): ``'image'``: Canny of the loaded uint8 image
            (un-normalised with the preprocessor's mean and std), in [0, 1].
            ``'official'``, for converted official checkpoints: the
            normalised input cast to uint8 (truncated, wrapped as numpy on
            x86 did), Canny values 0/255. Defaults to 'image'.
        canny_thresholds (Sequence[float]): Canny's low and high hysteresis
            thresholds. Defaults to (10, 100).
        **kwargs: :class:`EncoderDecoder` arguments.
    """

    def __init__(self,
                 *args,
                 gradient_mode: str = 'image',
                 canny_thresholds: Sequence[float] = (10, 100),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if gradient_mode not in GRADIENT_MODES:
            raise ValueError(f'gradient_mode must be one of {GRADIENT_MODES}'
                             f', got {gradient_mode!r}')
        if len(canny_thresholds) != 2:
            raise ValueError('canny_thresholds takes (low, high), got '
                             f'{canny_thresholds}')
        self.gradient_mode = gradient_mode
        self.canny_thresholds = tuple(float(t) for t in canny_thresholds)
        self._with_edge = False

    def image_gradient(self, inputs: Tensor) -> Tensor:
        """Canny map (N, 1, H, W) of the preprocessed ``inputs``."""
        x = inputs.detach().float()
        if self.gradient_mode == 'official':
            images = official_uint8(x.permute(0, 2, 3, 1).cpu().numpy())
            scale = 1.0
        else:
            pre = self.data_preprocessor
            if getattr(pre, '_enable_normalize', False):
                x = x * pre.std.to(x) + pre.mean.to(x)
            images = x.round().clamp(0, 255).permute(0, 2, 3, 1).to(
                torch.uint8).cpu().numpy()
            scale = 1 / 255
        edges = canny_maps(images, *self.canny_thresholds)
        return torch.from_numpy(edges).to(inputs)[:, None] * scale

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Backbone (and neck) features, then the image gradient map."""
        return self.extract_feat_with_gradient(inputs,
                                               self.image_gradient(inputs))

    def extract_feat_with_gradient(self, inputs: Tensor,
                                   gradient: Tensor) -> List[Tensor]:
        """:meth:`extract_feat` with the gradient map given: the ONNX
        export's path, as OpenCV's Canny cannot be traced.

        Args:
            inputs (Tensor): Preprocessed images (N, 3, H, W).
            gradient (Tensor): Their :meth:`image_gradient` (N, 1, H, W).
        """
        return [*super().extract_feat(inputs), gradient]

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        x = self.extract_feat(inputs)
        if self._with_edge:
            return self.decode_head.predict_with_edge(x, batch_img_metas,
                                                      self.test_cfg)
        return self.decode_head.predict(x, batch_img_metas, self.test_cfg)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Segmentation logits of the head (the edge logits are the second
        output of ``decode_head.forward``)."""
        return self.decode_head.forward(self.extract_feat(inputs))[0]

    @contextmanager
    def _edge_as_extra_channel(self):
        """Let inference carry the edge logits as one more channel."""
        self._with_edge = True
        self.out_channels += 1
        try:
            yield
        finally:
            self._with_edge = False
            self.out_channels -= 1

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        if data_samples is not None:
            batch_img_metas = [s.metainfo for s in data_samples]
        else:
            batch_img_metas = [
                dict(
                    ori_shape=inputs.shape[2:],
                    img_shape=inputs.shape[2:],
                    pad_shape=inputs.shape[2:],
                    padding_size=[0, 0, 0, 0])
            ] * inputs.shape[0]
        with self._edge_as_extra_channel():
            logits = self.inference(inputs, batch_img_metas)
        results = self.postprocess_result(logits[:, :-1], data_samples)
        # the same un-padding, un-flipping and resizing for the edge map;
        # postprocess_result turns a one-channel map into probabilities
        edge_samples = None if data_samples is None else [
            SegDataSample(metainfo=s.metainfo) for s in data_samples
        ]
        edge_samples = self.postprocess_result(logits[:, -1:], edge_samples)
        for result, edge in zip(results, edge_samples):
            result.set_data(
                dict(pred_edge_map=PixelData(data=edge.seg_logits.data)))
        return results

    def edge_map(self, inputs: Tensor) -> Optional[Tensor]:
        """Edge probabilities (N, 1, H, W) of preprocessed ``inputs``."""
        return torch.sigmoid(
            self.decode_head.forward(self.extract_feat(inputs))[1])
