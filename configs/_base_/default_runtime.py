_base_ = 'mmseg::_base_/default_runtime.py'
# Lets the stock mmseg/mmpose tools (and mmengine's Runner) find our
# components when they read one of our configs.
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)
