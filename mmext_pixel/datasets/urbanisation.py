from mmseg.registry import DATASETS

from .pair_list_dataset import PairListSegDataset


@DATASETS.register_module()
class UrbanisationDataset(PairListSegDataset):
    """Aerial urban/non-urban segmentation in the HRNet urbanisation fork's
    layout (ccalvin97/CV-Semantic-Segmentation,
    ``lib/datasets/urbanisation.py``).

    .. code-block:: none

        data/
        ├── urbanisation/
        │   ├── x/{train,val,test}/NAME.png   images
        │   └── y/{train,val}/NAME.png        label maps (same stem), 0/1
        └── list/urbanisation/{train,val,test}.lst   optional, the fork's lists

    With ``data_root='data/'`` and both roots
    ``data_prefix=dict(img_path='urbanisation', seg_map_path='urbanisation')``
    (as ``configs/_base_/datasets/urbanisation.py`` sets them), a split is
    chosen by folders (``split='train'`` reads ``x/train`` and ``y/train``)
    or by one of the fork's list files, unchanged
    (``ann_file='list/urbanisation/train.lst'``, lines
    ``x/train/NAME.png y/train/NAME.png``). The test split has no labels: its
    list has one column, or in folder mode ``seg_map_path`` is empty.

    The default classes are the fork's two (``NUM_CLASSES: 2``, label 0
    non-urban, 1 urban, 255 ignored). Another class list can be given
    through ``metainfo=dict(classes=..., palette=...)``; the label values then
    index that list directly (no remapping).

    Args:
        img_suffix (str): Image suffix in folder mode. Defaults to '.png'.
        seg_map_suffix (str): Label map suffix. Defaults to '.png'.
        data_prefix (dict): Image and label roots, relative to
            ``data_root``. Defaults to the fork's, both ``'urbanisation'``.
        **kwargs: :class:`PairListSegDataset` arguments (``split``,
            ``ann_file``, ...).
    """

    SPLIT_DIRS = ('x/{split}', 'y/{split}')
    METAINFO = dict(
        classes=('non-urban', 'urban'), palette=[[34, 139, 34], [220, 20, 60]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(
                     img_path='urbanisation', seg_map_path='urbanisation'),
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)

    @classmethod
    def get_label_map(cls, new_classes=None):
        # A configured class list replaces the default one wholesale; the
        # label values on disk already index it.
        return None
