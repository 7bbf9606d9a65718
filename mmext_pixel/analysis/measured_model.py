"""A config's model and a random input for it, as the analysis tools
(``get_flops.py``, ``benchmark.py``, ``benchmark_onnx.py``) measure them."""
import copy
from typing import Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from mmext_pixel.utils.run_config import POSE_SCOPE, SEG_SCOPE

DEFAULT_SHAPES = {SEG_SCOPE: (1024, 2048), POSE_SCOPE: (256, 192)}


def add_shape_arg(parser) -> None:
    """``--shape H W``, read by :func:`input_shape`.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        metavar='SIZE',
        help='input height and width (one value: square input); default '
        '1024 2048 for segmentation, 256 192 for pose')


def input_shape(cfg: Config,
                shape: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """``(H, W)`` from ``--shape`` (1 or 2 values) or the scope's default.

    Args:
        cfg (Config): The config (its ``default_scope`` picks the default).
        shape (Sequence[int], optional): ``(H, W)`` or ``(S,)``. Defaults to
            None: the scope's default.
    """
    if shape is None:
        return DEFAULT_SHAPES[cfg.default_scope]
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2 or min(shape) <= 0:
        raise ValueError(f'--shape takes H W (or one size for a square '
                         f'input) as positive integers, got {shape}')
    return shape


def build_model(cfg: Config) -> nn.Module:
    """The config's model, weights not loaded, SyncBN reverted, eval mode.

    Args:
        cfg (Config): A config loaded with ``load_config``.
    """
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == POSE_SCOPE:
        from mmpose.registry import MODELS
    else:
        from mmseg.registry import MODELS
    # a copy: mmseg's EncoderDecoder writes its ``pretrained`` into the
    # backbone's settings, and refuses to be built twice from them
    model = MODELS.build(copy.deepcopy(cfg.model))
    model = revert_sync_batchnorm(model)
    model.eval()
    return model


def dummy_inputs(model: nn.Module, cfg: Config,
                 shape: Tuple[int, int]) -> torch.Tensor:
    """One random image of ``shape`` through the model's data_preprocessor.

    Args:
        model (nn.Module): A model built by :func:`build_model`.
        cfg (Config): Its config.
        shape (Tuple[int, int]): The image's ``(H, W)``.

    Returns:
        torch.Tensor: The batch of inputs (1, 3, H', W') that the network
        sees; H', W' differ from ``shape`` where the preprocessor pads test
        images.
    """
    device = next(model.parameters()).device
    img = torch.randint(0, 256, (3, *shape), dtype=torch.uint8, device=device)
    if cfg.default_scope == SEG_SCOPE:
        from mmseg.structures import SegDataSample
        meta = dict(ori_shape=shape, img_shape=shape, pad_shape=shape)
        batch = dict(inputs=[img], data_samples=[SegDataSample(metainfo=meta)])
    else:
        from mmpose.structures import PoseDataSample
        meta = dict(ori_shape=shape, img_shape=shape, input_size=shape[::-1])
        batch = dict(
            inputs=[img], data_samples=[PoseDataSample(metainfo=meta)])
    return model.data_preprocessor(batch, False)['inputs']


class TensorForward(nn.Module):
    """``model(inputs, None, mode='tensor')`` as a one-input module to trace.

    Both toolboxes' models return the network's raw outputs in this mode.

    Args:
        model (nn.Module): A segmentor or pose estimator.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, None, mode='tensor')
