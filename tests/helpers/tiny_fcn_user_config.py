"""The model part of the users' configs that the tool tests write: a tiny
ResNet-18-shaped FCN (a few channels) with mmseg's stock types only, and
``custom_imports`` as a user adds it. ``{num_classes}`` is left for the
config's ``str.format``, with the config's own fields."""

TINY_FCN_USER_MODEL = '''\
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=8,
        base_channels=4,
        out_indices=(3, ),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='FCNHead',
        in_channels=32,
        channels=8,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.,
        num_classes={num_classes},
        norm_cfg=norm_cfg,
        align_corners=False),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
'''


def build_user_model(cfg_path, config_text):
    """Write ``config_text`` to ``cfg_path`` and build its model as the tools
    do (mmseg's scope, seed 0, initialised weights).

    Returns:
        tuple: The loaded config and the model.
    """
    import torch
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmext_pixel.utils.run_config import load_config
    cfg_path.write_text(config_text)
    cfg = load_config(str(cfg_path))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def save_checkpoint(model, path):
    """``model``'s weights as a checkpoint that tools/test.py loads."""
    import torch
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path
