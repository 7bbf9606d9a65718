# GSTO-HRNet-W32, top-down heatmaps on COCO at 256x192: mmpose's
# HRNet-W32 recipe (schedule, MSRAHeatmap codec, pipelines, CocoMetric on
# detected boxes, ImageNet HRNet-W32 init) with GSTO's backbone and head.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'
]
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)

model = dict(
    # The base's init_cfg loads ImageNet HRNet weights into the HRNet part;
    # the gates and the stage predictors are new: mmengine lists them as
    # missing keys in its "do not match exactly" warning.
    backbone=dict(type='GSTOHRNet', num_classes=17),
    # final heatmaps + 0.5 * stage-3 + 0.3 * stage-2 heatmap losses
    head=dict(
        type='GSTOHeatmapHead',
        in_channels=(32, 64, 128, 256),
        stage_loss_weights=(0.5, 0.3)))

# The backbone's first transition gate is never used (an official quirk kept
# for checkpoint compatibility), so DDP must expect parameters without grads.
find_unused_parameters = True

# same files and settings, with checks of the annotation files
train_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
val_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
test_dataloader = val_dataloader
