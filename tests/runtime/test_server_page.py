"""The server's web page in headless Chromium at a desktop (1200x900) and a
phone (390x844) size: the legend names every class with its colour before
an upload and its share after, a 640x425 photo fits the window (no
horizontal scroll), the class names on the overlay do not cover each
other, the latency is on screen, and the overlay shown is the library's;
checked from the page and from screenshots, which are kept (the folder is
printed; ``MMEXT_PIXEL_SCREENSHOTS`` chooses it)."""
import json
import os

import cv2
import numpy as np
import pytest

from conftest import import_deploy_package
from helpers.chromium_cdp import Chromium
from helpers.runtime_server import serve

runtime = import_deploy_package('mmext_pixel_runtime')
import_deploy_package('fastapi')

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = [(1200, 900), (390, 844)]


@pytest.fixture(scope='module')
def server(trained_tiny_onnx):
    with serve(trained_tiny_onnx['whole'], '--max-pixels',
               str(1024 * 1024)) as client:
        yield client


@pytest.fixture(scope='module')
def screenshots(tmp_path_factory):
    folder = os.environ.get('MMEXT_PIXEL_SCREENSHOTS')
    if folder:
        os.makedirs(folder, exist_ok=True)
    else:
        folder = str(tmp_path_factory.mktemp('page_screenshots'))
    print(f'\nscreenshots of the page: {folder}')
    return folder


@pytest.fixture(scope='module')
def uploads(synthetic_root, tmp_path_factory):
    """A 192x192 tile (shown at its own size on a desktop) and a 640x425
    'photo' of four val tiles side by side."""
    folder = tmp_path_factory.mktemp('uploads')
    vals = sorted(
        (synthetic_root / 'urbanisation' / 'x' / 'val').glob('*.png'))
    tile = cv2.resize(cv2.imread(str(vals[0])), (192, 192))
    photo = cv2.resize(
        np.concatenate([cv2.imread(str(p)) for p in vals[:4]], axis=1),
        (640, 425))
    paths = dict(
        tile=str(folder / 'tile.png'), photo=str(folder / 'photo.png'))
    cv2.imwrite(paths['tile'], tile)
    cv2.imwrite(paths['photo'], photo)
    return paths


STATE = """JSON.stringify((() => {
    const rect = (el) => { const r = el.getBoundingClientRect();
        return {x: r.left, y: r.top, w: r.width, h: r.height}; };
    const overlay = document.getElementById('overlay');
    const rows = [...document.querySelectorAll('#legend tbody tr')];
    return {
        innerWidth: window.innerWidth, innerHeight: window.innerHeight,
        scrollWidth: Math.max(document.documentElement.scrollWidth,
                              document.body.scrollWidth),
        legend: rows.map((tr) => ({
            name: tr.cells[1].textContent, share: tr.cells[2].textContent,
            color: getComputedStyle(tr.querySelector('.swatch'))
                .backgroundColor})),
        latency: document.getElementById('latency').textContent,
        latencyBox: rect(document.getElementById('latency')),
        overlay: {...rect(overlay), left: overlay.clientLeft,
                  natural: [overlay.naturalWidth, overlay.naturalHeight]},
        input: rect(document.getElementById('input')),
        labels: [...document.querySelectorAll('#labels .label')].map(
            (el) => ({name: el.textContent, ...rect(el)})),
    };
})())"""


def page_state(browser):
    return json.loads(browser.evaluate(STATE))


def intersect(a, b):
    return (a['x'] < b['x'] + b['w'] and b['x'] < a['x'] + a['w']
            and a['y'] < b['y'] + b['h'] and b['y'] < a['y'] + a['h'])


def inside(box, outer, slack=1):
    return (box['x'] >= outer['x'] - slack and box['y'] >= outer['y'] - slack
            and box['x'] + box['w'] <= outer['x'] + outer['w'] + slack
            and box['y'] + box['h'] <= outer['y'] + outer['h'] + slack)


def upload(browser, path):
    browser.evaluate('delete document.body.dataset.done')
    browser.set_file('#file', path)
    browser.wait_for('document.body.dataset.done === "1"')
    return page_state(browser)


def check_layout(state, model, labels, name):
    """No horizontal scroll, both images inside the window, the legend's
    shares, the latency on screen, labels apart and on the overlay."""
    width = state['innerWidth']
    assert state['scrollWidth'] <= width, (name, state['scrollWidth'])
    for key in ('overlay', 'input'):
        box = state[key]
        assert box['x'] >= 0 and box['x'] + box['w'] <= width, (name, key, box)
    for row, cls in zip(state['legend'], model.meta.classes):
        i = model.meta.classes.index(cls)
        assert row['name'] == cls
        assert row['share'] == f'{100 * (labels == i).mean():.1f} %', row
    latency = state['latency']
    assert latency.endswith(' ms') and float(latency[:-3]) > 0
    box = state['latencyBox']
    assert box['w'] > 0 and inside(
        box, dict(x=0, y=0, w=width, h=state['innerHeight']))
    shown = state['labels']
    present = [
        c for i, c in enumerate(model.meta.classes) if (labels == i).any()
    ]
    assert sorted(label['name'] for label in shown) == sorted(present)
    for i, a in enumerate(shown):
        assert inside(a, state['overlay']), (name, a, state['overlay'])
        for b in shown[i + 1:]:
            assert not intersect(a, b), (name, a, b)


@pytest.mark.parametrize('viewport', VIEWPORTS, ids=lambda v: '%dx%d' % v)
def test_page(trained_tiny_onnx, server, uploads, screenshots, tmp_path,
              viewport):
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    tag = '%dx%d' % viewport
    photo = cv2.imread(uploads['photo'])
    photo_labels = model.predict(photo)
    assert len(np.unique(photo_labels)) == 3
    browser = Chromium(str(tmp_path / 'profile'), *viewport)
    try:
        browser.navigate(f'http://127.0.0.1:{server.port}/')
        browser.wait_for("document.getElementById('title').textContent"
                         ".includes('3 classes')")
        browser.wait_for("document.querySelectorAll('#legend tbody tr')"
                         '.length === 3')
        before = page_state(browser)
        browser.screenshot(os.path.join(screenshots, f'{tag}_start.png'))
        # every class and its colour before anything is segmented
        assert [r['name']
                for r in before['legend']] == list(model.meta.classes)
        for row, rgb in zip(before['legend'], model.meta.palette):
            assert row['color'] == 'rgb(%d, %d, %d)' % tuple(rgb)
            assert row['share'] == '-'
        if viewport[0] >= 1000:
            check_overlay_pixels(browser, model, uploads['tile'], tmp_path)
        state = upload(browser, uploads['photo'])
        shot = os.path.join(screenshots, f'{tag}_photo.png')
        browser.screenshot(shot)
    finally:
        browser.close()
    check_layout(state, model, photo_labels, tag)
    # scaled to fit: narrower than the photo on the phone
    assert state['overlay']['natural'] == [640, 425]
    if viewport[0] < 640:
        assert state['overlay']['w'] < 640
    page = cv2.imread(shot)
    assert page.shape[:2] == (viewport[1], viewport[0])


def check_overlay_pixels(browser, model, path, tmp_path):
    """A tile shown at its own size: the screenshot's pixels outside the
    class names are the library's overlay (without names: the page writes
    them)."""
    img = cv2.imread(path)
    labels = model.predict(img)
    want = runtime.draw_overlay(
        img, labels, model.meta.classes, model.meta.palette, with_labels=False)
    state = upload(browser, path)
    shot = str(tmp_path / 'tile.png')
    browser.screenshot(shot)
    check_layout(state, model, labels, 'tile')
    box = state['overlay']
    assert (box['w'] - 2 * box['left'],
            state['overlay']['natural'][0]) == (192, 192)
    x, y = round(box['x'] + box['left']), round(box['y'] + box['left'])
    shown = cv2.imread(shot)[y:y + 192, x:x + 192].astype(int)
    keep = np.ones((192, 192), bool)
    for label in state['labels']:
        x0, y0 = int(label['x'] - x), int(label['y'] - y)
        keep[max(y0 - 1, 0):y0 + int(label['h']) + 2,
             max(x0 - 1, 0):x0 + int(label['w']) + 2] = False
    assert keep.mean() > 0.5
    diff = np.abs(shown - want.astype(int))[keep]
    assert diff.max() <= 3, diff.max()
    # palette colours, not the plain image, where a class is drawn
    plain = np.abs(shown - img.astype(int)).sum(-1)[keep]
    assert (plain > 30).mean() > 0.5
