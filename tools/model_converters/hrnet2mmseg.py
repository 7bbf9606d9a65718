"""Convert an official HRNet segmentation checkpoint
(HRNet-Semantic-Segmentation) for mmseg's FCN-HRNet (``configs/hrnet``)."""
from functools import partial

from mmext_pixel.converters import hrnet
from mmext_pixel.converters.base import run_converter

main = partial(
    run_converter, 'Convert an official HRNet segmentation checkpoint to '
    "mmseg's FCN-HRNet (configs/hrnet)", hrnet.convert)

if __name__ == '__main__':
    main()
