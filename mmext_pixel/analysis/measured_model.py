"""A config's network and a random input as the analysis tools measure
them, and the measuring tools' shared options."""
from typing import Optional, Sequence

import mmengine
import torch
from mmengine.config import Config, DictAction
from mmseg.structures import SegDataSample
from torch import nn

from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import SEG_SCOPE


def add_shape_arg(parser) -> None:
    """``--shape H W``, read by :func:`input_shape`."""
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        metavar='SIZE',
        help='input height and width (one value: square input); default '
        '1024 2048 for segmentation, 256 192 for pose')


def add_cfg_options_arg(parser, of: str = 'config') -> None:
    """``--cfg-options key=value ...`` overriding settings of the ``of``."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=f'override settings of the {of}, key=value (see mmengine)')


def dump_results(result: dict, out: Optional[str]) -> None:
    """``result`` as JSON to ``out`` (if given), announced."""
    if out:
        mmengine.dump(result, out, file_format='json', indent=2)
        print(f'results written to {out}')


def measured_network(cfg: Config,
                     shape: Sequence[int],
                     device: str = 'cpu',
                     model: Optional[nn.Module] = None):
    """``model`` (default: built from ``cfg``) in eval mode on ``device``
    without its auxiliary head, and one random ``shape`` image through its
    ``data_preprocessor`` (which may pad it)."""
    if model is None:
        model = build_model(cfg)
    if getattr(model, 'auxiliary_head', None) is not None:
        model.auxiliary_head = None
    model = model.to(device).eval()
    img = torch.randint(0, 256, (3, *shape), dtype=torch.uint8)
    if cfg.default_scope == SEG_SCOPE:
        Sample = SegDataSample
        meta = dict(ori_shape=shape, img_shape=shape, pad_shape=shape)
    else:  # mmpose is optional (requirements/pose.txt)
        from mmpose.structures import PoseDataSample as Sample
        meta = dict(ori_shape=shape, img_shape=shape, input_size=shape[::-1])
    batch = dict(inputs=[img.to(device)], data_samples=[Sample(metainfo=meta)])
    with torch.no_grad():
        return model, model.data_preprocessor(batch, False)['inputs']


class TensorForward(nn.Module):
    """``model(inputs, None, mode='tensor')`` as a one-input module.

    Args:
        model (nn.Module): A segmentor or pose estimator.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, None, mode='tensor')
