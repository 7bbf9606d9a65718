"""A test-only checkpoint save that stalls half-written, to be killed.

Imported through a config's ``custom_imports``. When ``SLOW_SAVE_NAME`` is
set, the file whose name starts with it gets half its bytes, then
``SLOW_SAVE_MARKER`` is created and the process sleeps until it is killed.
"""
import os
import os.path as osp
import time

from mmengine.fileio.backends import LocalBackend

_put = LocalBackend.put


def _stalling_put(self, obj, filepath):
    name = os.environ.get('SLOW_SAVE_NAME')
    if name and osp.basename(str(filepath)).startswith(name):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
            os.fsync(f.fileno())
        open(os.environ['SLOW_SAVE_MARKER'], 'w').close()
        time.sleep(600)
    return _put(self, obj, filepath)


LocalBackend.put = _stalling_put
