# GSTO-HRNet-W32, top-down heatmaps on COCO at 256x192: mmpose's HRNet-W32
# recipe with GSTO's backbone and head (README.md, "Training recipe").
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'
]
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)
# mmpose's SyncBuffersHook and our run checks (docs/train_test.md)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='ClassCountCheckHook'),
    dict(type='NonFiniteLossHook')
]
model = dict(
    backbone=dict(type='GSTOHRNet', num_classes=17),
    head=dict(
        type='GSTOHeatmapHead',
        in_channels=(32, 64, 128, 256),
        stage_loss_weights=(0.5, 0.3)))
train_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
val_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
test_dataloader = val_dataloader
