import os.path as osp
from typing import List, Optional, Tuple

from mmengine import fileio
from mmseg.datasets import BaseSegDataset

from .transforms import make_label_loading_optional


class PairListSegDataset(BaseSegDataset):
    """Segmentation dataset read from split folders or an HRNet list file.

    List mode (``ann_file``): per non-empty line, as HRNet's ``data/list/*``,
    an image and (if labelled) a label path relative to the ``data_prefix``
    roots; more columns are ignored. Folder mode: every ``img_suffix`` image
    under the roots joined with :attr:`SPLIT_DIRS` (the roots if ``split``
    is None) and its label of the same stem. One-column lists or an empty
    ``seg_map_path`` make an unlabelled split (:attr:`has_labels`); a list
    labelling some lines only, or a missing file, is an error naming it.
    Stock ``LoadAnnotations`` steps become ``LoadOptionalAnnotations``.

    Args:
        split (str, optional): Split whose folders folder mode reads.
            Defaults to None (the roots are the split folders).
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments.
    """

    #: Folder-mode image and label folders under the roots (``{split}``).
    SPLIT_DIRS: Tuple[str, str] = ('{split}', '{split}')
    #: A subclass's layout: defaults of the ``BaseSegDataset`` arguments.
    LAYOUT: dict = {}

    def __init__(self, split: Optional[str] = None, **kwargs) -> None:
        self.split = split
        self.has_labels: Optional[bool] = None
        super().__init__(**{**self.LAYOUT, **kwargs})
        make_label_loading_optional(self.pipeline)

    def _join_prefix(self):
        # an empty seg_map_path (unlabelled) must not become data_root
        unlabelled = not self.data_prefix.get('seg_map_path')
        super()._join_prefix()
        if unlabelled:
            self.data_prefix['seg_map_path'] = ''

    def load_data_list(self) -> List[dict]:
        if self.data_root is not None and not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'{type(self).__name__}: data_root {self.data_root!r} does '
                'not exist (see docs/dataset_prepare.md for the layout)')
        if self.ann_file:
            data_list = self._load_from_list_file(self.ann_file)
        else:
            data_list = self._load_from_folders()
        if not data_list:
            where = self.ann_file or self._split_dirs()[0]
            raise FileNotFoundError(
                f'{type(self).__name__}: no samples found in {where!r} '
                f'(img_suffix={self.img_suffix!r})')
        return data_list

    def _make_info(self, img_path: str, seg_map_path: Optional[str]) -> dict:
        info = dict(
            img_path=img_path,
            label_map=self.label_map,
            reduce_zero_label=self.reduce_zero_label,
            seg_fields=[])
        if seg_map_path:
            info['seg_map_path'] = seg_map_path
        return info

    def _load_from_list_file(self, list_file: str) -> List[dict]:
        if not osp.isfile(list_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: list file {list_file!r} does not '
                'exist')
        with open(list_file) as f:
            lines = [(line_no, line.split())
                     for line_no, line in enumerate(f, start=1)]
        lines = [(line_no, fields) for line_no, fields in lines if fields]
        labelled = [line_no for line_no, fields in lines if len(fields) > 1]
        self.has_labels = bool(labelled)
        img_root = self.data_prefix.get('img_path', '')
        seg_root = self.data_prefix.get('seg_map_path', '')
        if self.has_labels and not seg_root:
            raise ValueError(
                f'{list_file}:{labelled[0]}: the list names label maps but '
                "data_prefix['seg_map_path'] is empty, which declares the "
                'split unlabelled; set it to the label root')
        data_list = []
        for line_no, fields in lines:
            if self.has_labels and len(fields) == 1:
                raise ValueError(
                    f'{list_file}:{line_no}: {fields[0]!r} has no label '
                    f'path, but the list is labelled (line {labelled[0]} '
                    'names one); give every line its label, or none')
            img_path = osp.join(img_root, fields[0])
            seg_map_path = (
                osp.join(seg_root, fields[1]) if self.has_labels else None)
            for path in filter(None, (img_path, seg_map_path)):
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'{list_file}:{line_no}: {path!r} does not exist')
            data_list.append(self._make_info(img_path, seg_map_path))
        return data_list

    def _split_dirs(self) -> Tuple[str, str]:
        """The image and label folders that folder mode reads."""
        img_dir = self.data_prefix.get('img_path', '')
        ann_dir = self.data_prefix.get('seg_map_path', '')
        if self.split is None:
            return img_dir, ann_dir
        img_sub, ann_sub = (
            d.format(split=self.split) for d in self.SPLIT_DIRS)
        return (osp.join(img_dir, img_sub),
                osp.join(ann_dir, ann_sub) if ann_dir else '')

    def _load_from_folders(self) -> List[dict]:
        img_dir, ann_dir = self._split_dirs()
        self.has_labels = bool(ann_dir)
        for folder in filter(None, (img_dir, ann_dir)):
            if not osp.isdir(folder):
                split = ('' if self.split is None else
                         f' (split {self.split!r} under data_prefix)')
                raise FileNotFoundError(
                    f'{type(self).__name__}: folder {folder!r}{split} does '
                    'not exist')
        data_list = []
        for img in sorted(
                fileio.list_dir_or_file(
                    img_dir,
                    list_dir=False,
                    suffix=self.img_suffix,
                    recursive=True,
                    backend_args=self.backend_args)):
            seg_map_path = None
            if ann_dir:
                stem = img[:-len(self.img_suffix)]
                seg_map_path = osp.join(ann_dir, stem + self.seg_map_suffix)
                if not osp.isfile(seg_map_path):
                    raise FileNotFoundError(
                        f'label map {seg_map_path!r} for image '
                        f'{osp.join(img_dir, img)!r} does not exist')
            data_list.append(
                self._make_info(osp.join(img_dir, img), seg_map_path))
        return data_list
