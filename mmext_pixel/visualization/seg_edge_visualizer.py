from typing import Optional

import numpy as np
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer


def edge_panel(edge_prob, shape) -> np.ndarray:
    """An (H, W, 3) uint8 grey image of an edge probability map."""
    if hasattr(edge_prob, 'detach'):
        edge_prob = edge_prob.detach().cpu().numpy()
    edge = np.squeeze(edge_prob)
    if edge.shape != tuple(shape[:2]):
        raise ValueError(f'edge map of size {edge.shape} does not fit the '
                         f'drawn image of size {tuple(shape[:2])}')
    grey = (np.clip(edge, 0, 1) * 255).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


@VISUALIZERS.register_module()
class SegEdgeLocalVisualizer(SegLocalVisualizer):
    """``SegLocalVisualizer`` that also draws Gated-SCNN's ``pred_edge_map``
    in grey: ``ground truth | prediction | edge map``.

    Args:
        **kwargs: :class:`mmseg.visualization.SegLocalVisualizer` arguments.
    """

    _pending_edge = None  # (pred_sem_seg, edge map) while a sample is drawn

    def _draw_sem_seg(self, image, sem_seg, *args, **kwargs) -> np.ndarray:
        drawn = super()._draw_sem_seg(image, sem_seg, *args, **kwargs)
        pending = self._pending_edge
        if pending is not None and sem_seg is pending[0]:
            drawn = np.concatenate(
                [drawn, edge_panel(pending[1], drawn.shape)], axis=1)
        return drawn

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       **kwargs) -> None:
        if (draw_pred and data_sample is not None
                and 'pred_edge_map' in data_sample
                and 'pred_sem_seg' in data_sample):
            self._pending_edge = (data_sample.pred_sem_seg,
                                  data_sample.pred_edge_map.data)
        try:
            super().add_datasample(name, image, data_sample, draw_gt,
                                   draw_pred, **kwargs)
        finally:
            self._pending_edge = None
