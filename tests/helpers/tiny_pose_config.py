"""A pose config small enough to trace quickly: mmpose's HRNet-W32 top-down
heatmap model with one module in stages 3 and 4."""

POSE_CONFIG = '''
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py']
model = dict(
    backbone=dict(
        extra=dict(stage3=dict(num_modules=1), stage4=dict(num_modules=1))))
'''
