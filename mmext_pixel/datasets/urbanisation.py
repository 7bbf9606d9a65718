from mmseg.registry import DATASETS

from .pair_list_dataset import PairListSegDataset


@DATASETS.register_module()
class UrbanisationDataset(PairListSegDataset):
    """Aerial urban/non-urban segmentation in the HRNet urbanisation fork's
    layout (ccalvin97/CV-Semantic-Segmentation,
    ``lib/datasets/urbanisation.py``; docs/dataset_prepare.md).

    A split by folders (``split='train'``: ``x/train``, ``y/train``) or the
    fork's list files (``ann_file='list/urbanisation/train.lst'``). Classes:
    the fork's 0 non-urban, 1 urban (255 ignored), or a ``metainfo`` class
    list that the label values index directly.

    Args:
        img_suffix (str): Image suffix in folder mode. Defaults to '.png'.
        seg_map_suffix (str): Label map suffix. Defaults to '.png'.
        data_prefix (dict): Image and label roots. Defaults to the fork's,
            both ``'urbanisation'``.
        **kwargs: :class:`PairListSegDataset` arguments.
    """

    SPLIT_DIRS = ('x/{split}', 'y/{split}')
    METAINFO = dict(
        classes=('non-urban', 'urban'), palette=[[34, 139, 34], [220, 20, 60]])
    LAYOUT = dict(
        img_suffix='.png',
        seg_map_suffix='.png',
        data_prefix=dict(img_path='urbanisation', seg_map_path='urbanisation'))

    @classmethod
    def get_label_map(cls, new_classes=None):
        # a configured class list replaces the default; labels index it
        return None
