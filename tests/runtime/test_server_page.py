"""The server's web page in headless Chromium: choose an image, see the
overlay, the legend with each class's share and the latency; checked from a
screenshot."""
import json

import cv2
import numpy as np
import pytest

from conftest import import_deploy_package
from helpers.chromium_cdp import Chromium
from helpers.runtime_server import serve
from helpers.tiny_trained_seg import trained_tiny

runtime = import_deploy_package('mmext_pixel_runtime')
import_deploy_package('fastapi')

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory, synthetic_root):
    return trained_tiny(tmp_path_factory.getbasetemp(), synthetic_root)


def test_page_shows_overlay(tiny_models, synthetic_root, tmp_path):
    val = sorted(
        (synthetic_root / 'urbanisation' / 'x' / 'val').glob('*.png'))[0]
    img = cv2.resize(cv2.imread(str(val)), (192, 192))
    upload = str(tmp_path / 'tile.png')
    cv2.imwrite(upload, img)
    model = runtime.Segmenter(tiny_models['whole'], threads=1)
    labels = model.predict(img)
    assert len(np.unique(labels)) >= 2
    want = runtime.draw_overlay(img, labels, model.meta.classes,
                                model.meta.palette)

    with serve(tiny_models['whole']) as client:
        browser = Chromium(str(tmp_path / 'profile'))
        try:
            browser.navigate(f'http://127.0.0.1:{client.port}/')
            browser.wait_for("document.getElementById('title').textContent"
                             ".includes('3 classes')")
            browser.set_file('#file', upload)
            browser.wait_for('document.body.dataset.done === "1"')
            box = json.loads(
                browser.evaluate("""JSON.stringify((() => {
                    const img = document.getElementById('overlay');
                    const r = img.getBoundingClientRect();
                    return {x: r.left + img.clientLeft,
                            y: r.top + img.clientTop,
                            w: img.naturalWidth, h: img.naturalHeight};
                })())"""))
            legend = browser.evaluate(
                "document.getElementById('legend').innerText")
            latency = browser.evaluate(
                "document.getElementById('latency').textContent")
            shot = str(tmp_path / 'page.png')
            browser.screenshot(shot)
        finally:
            browser.close()

    assert (box['w'], box['h']) == (192, 192)
    page = cv2.imread(shot)
    x, y = round(box['x']), round(box['y'])
    shown = page[y:y + 192, x:x + 192].astype(int)
    # the screenshot shows the overlay the library draws
    diff = np.abs(shown - want.astype(int))
    assert diff.max() <= 3, diff.max()
    # palette colours, not the plain image, where a class is drawn
    plain = np.abs(shown - img.astype(int)).sum(-1)
    assert (plain > 30).mean() > 0.5
    for i, name in enumerate(model.meta.classes):
        share = 100 * (labels == i).mean()
        assert f'{name}\t{share:.1f} %' in legend, legend
    assert latency.endswith(' ms') and float(latency[:-3]) > 0
