from typing import List, Optional

from mmseg.models.backbones import ResNetV1c
from mmseg.models.backbones.resnet import Bottleneck
from mmseg.models.utils import ResLayer
from mmseg.registry import MODELS

POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')


@MODELS.register_module()
class BlockPluginResNetV1c(ResNetV1c):
    """mmseg's ResNetV1c whose ``plugins`` may also choose the blocks.

    A plugin may carry ``blocks``, one entry per stage: None (every block)
    or block indices (negative from the end). Strip Pooling (Hou et al., CVPR
    2020) gates the last block of stages 1-3 and every block of stage 4::

        plugins=[dict(cfg=dict(type='StripPoolingBlock'),
                      position='after_conv2',
                      blocks=((-1, ), (-1, ), (-1, ), None))]

    Plugins without ``blocks`` and all names are mmseg's (``layer4.0.spm``).

    Args:
        plugins (list[dict], optional): As mmseg's ResNet, each optionally
            with ``blocks`` as above (a stage left out by ``stages`` gets
            nothing whatever its ``blocks`` entry). Defaults to None.
        **kwargs: As :class:`mmseg.models.backbones.ResNetV1c`.
    """

    def __init__(self, plugins: Optional[List[dict]] = None, **kwargs) -> None:
        depth = kwargs.get('depth')
        if plugins and depth in self.arch_settings and \
                self.arch_settings[depth][0] is not Bottleneck:
            raise ValueError(f'plugins need Bottleneck blocks; depth {depth} '
                             'has BasicBlocks (use depth 50, 101 or 152)')
        for plugin in plugins or []:
            if plugin.get('position') not in POSITIONS:
                raise ValueError(f'plugin {plugin}: position must be one of '
                                 f'{POSITIONS}')
        self._block_plugins = []  # set per stage by make_stage_plugins
        super().__init__(plugins=plugins, **kwargs)
        del self._block_plugins

    def make_stage_plugins(self, plugins: List[dict],
                           stage_idx: int) -> Optional[List[dict]]:
        """mmseg's stage plugins (every block's, or None); those with
        ``blocks`` kept apart for :meth:`make_res_layer`.

        Args:
            plugins (list[dict]): The backbone's plugins.
            stage_idx (int): Index of the stage (0-based).
        """
        stage_plugins, per_block = [], []
        num_blocks = self.stage_blocks[stage_idx]
        for plugin in super().make_stage_plugins(plugins, stage_idx):
            blocks = plugin.pop('blocks', None)
            if blocks is None:
                stage_plugins.append(plugin)
                continue
            if len(blocks) != self.num_stages:
                raise ValueError(
                    f'plugin {plugin["cfg"]}: blocks={blocks} needs one '
                    f'entry per stage ({self.num_stages})')
            chosen = blocks[stage_idx]
            if chosen is None:
                stage_plugins.append(plugin)
                continue
            indices = set()
            for i in chosen:
                if not -num_blocks <= i < num_blocks:
                    raise ValueError(
                        f'plugin {plugin["cfg"]}: block {i} does not exist in '
                        f'stage {stage_idx + 1} ({num_blocks} blocks)')
                indices.add(i % num_blocks)
            per_block.append((plugin, indices))
        # ResNet calls make_res_layer for the same stage right after this
        self._block_plugins = per_block
        return stage_plugins or None

    def make_res_layer(self, **kwargs) -> ResLayer:
        """mmseg's stage, with the plugins of its chosen blocks added.

        Args:
            **kwargs: As mmseg's ``ResNet.make_res_layer``.
        """
        res_layer = super().make_res_layer(**kwargs)
        for plugin, indices in self._block_plugins:
            for i in sorted(indices):
                add_block_plugin(res_layer[i], plugin)
        self._block_plugins = []
        return res_layer


def add_block_plugin(block: Bottleneck, plugin: dict) -> None:
    """Build ``plugin`` into a built mmseg Bottleneck, as its own would be.

    Args:
        block (Bottleneck): The built block.
        plugin (dict): The plugin (``cfg`` and ``position``).
    """
    if not block.with_plugins:
        block.with_plugins = True
        block.plugins = []
        for position in POSITIONS:
            setattr(block, f'{position}_plugins', [])
            setattr(block, f'{position}_plugin_names', [])
    position = plugin['position']
    block.plugins.append(plugin)
    getattr(block, f'{position}_plugins').append(plugin['cfg'])
    channels = block.planes * (
        block.expansion if position == 'after_conv3' else 1)
    getattr(block, f'{position}_plugin_names').extend(
        block.make_block_plugins(channels, [plugin['cfg']]))
