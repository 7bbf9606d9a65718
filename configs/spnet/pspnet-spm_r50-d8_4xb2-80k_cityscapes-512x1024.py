# The strip pooling gate as a plug-in of mmseg's own PSPNet config (every
# stage-4 block, after conv2; random init: the ImageNet weights have none).
_base_ = 'mmseg::pspnet/pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='StripPoolingBlock', norm_cfg=norm_cfg),
            position='after_conv2',
            stages=(False, False, False, True))
    ]))
