"""The offline synthetic Flowers generator: layout, determinism, photo-like files, class cues."""
import functools
import hashlib
import os
import random

import numpy as np
import pytest
from PIL import Image

import base
from datasets.convert import photos
from datasets.synthetic import synthetic_flowers as sf

STATS_IMAGES = 16


def _read_all(output_dir, paths):
  return [open(os.path.join(output_dir, p), 'rb').read() for p in paths]


def test_generate_writes_n_images_into_each_of_the_five_class_folders(tmp_path):
  paths = sf.generate(str(tmp_path), 3, seed=0)
  assert sorted(os.listdir(tmp_path)) == sorted(sf.CLASS_NAMES)
  for name in sf.CLASS_NAMES:
    expected = ['%s_%04d.jpg' % (name, i) for i in range(3)]
    assert sorted(os.listdir(tmp_path / name)) == expected
  assert len(paths) == 15
  assert all(os.path.isfile(tmp_path / p) for p in paths)


def test_generated_files_are_rgb_jpegs_with_photo_like_sides(tmp_path):
  for path in sf.generate(str(tmp_path), 2, seed=1):
    with Image.open(tmp_path / path) as image:
      assert image.format == 'JPEG'
      assert image.mode == 'RGB'
      assert all(sf.MIN_SIDE <= side <= sf.MAX_SIDE for side in image.size)


def test_same_seed_gives_the_same_bytes(tmp_path):
  first = sf.generate(str(tmp_path / 'a'), 2, seed=7)
  second = sf.generate(str(tmp_path / 'b'), 2, seed=7)
  assert first == second
  assert _read_all(tmp_path / 'a', first) == _read_all(tmp_path / 'b', second)


def test_worker_processes_draw_the_same_files_in_the_same_order(tmp_path):
  # 3 per class = 15 pictures, 2 chunks: chunks cross class folders and come back in order.
  serial = sf.generate(str(tmp_path / 'a'), 3, seed=5)
  calls = []
  in_workers = sf.generate(
      str(tmp_path / 'b'), 3, seed=5, progress=lambda done, total: calls.append(done),
      map_chunks=functools.partial(photos.map_in_workers, num_workers=2, died='died'))
  assert in_workers == serial
  assert _read_all(tmp_path / 'b', in_workers) == _read_all(tmp_path / 'a', serial)
  assert calls == list(range(1, 16))


def test_the_pictures_of_seed_0_are_the_ones_drawn_so_far():
  # Pins the drawing itself (with the Pillow and numpy of requirements.txt): a refactoring of
  # the drawing code must not change a single pixel, or datasets drawn before would differ.
  digest = hashlib.sha256()
  for name in sf.CLASS_NAMES:
    for index in range(4):
      image, mask = sf.render_image_and_mask(name, sf.image_rng(0, name, index))
      digest.update(image.tobytes())
      digest.update(mask.tobytes())
  assert digest.hexdigest() == (
      '1e01cd60b8c3bb2f1de3926b1ddb755c2d3fbdd0cbc58b5e5c00b6395f46109e')


def test_different_seeds_give_different_images(tmp_path):
  paths = sf.generate(str(tmp_path / 'a'), 1, seed=1)
  sf.generate(str(tmp_path / 'b'), 1, seed=2)
  for a, b in zip(_read_all(tmp_path / 'a', paths), _read_all(tmp_path / 'b', paths)):
    assert a != b


def test_progress_is_called_once_per_image_up_to_the_total(tmp_path):
  calls = []
  sf.generate(str(tmp_path), 2, seed=0, progress=lambda done, total: calls.append((done, total)))
  assert calls == [(i, 10) for i in range(1, 11)]


def test_existing_output_dir_is_reused_and_no_temporary_files_remain(tmp_path):
  (tmp_path / 'daisy').mkdir()
  (tmp_path / 'daisy' / 'daisy_0000.jpg').write_bytes(b'stale')
  sf.generate(str(tmp_path), 1, seed=0)
  assert (tmp_path / 'daisy' / 'daisy_0000.jpg').read_bytes() != b'stale'
  leftovers = [n for _, _, names in os.walk(tmp_path) for n in names if n.endswith('.tmp')]
  assert leftovers == []


@pytest.mark.parametrize('count', [0, -1, 2.5, '3', True])
def test_images_per_class_that_is_not_a_positive_whole_number_is_a_user_error(tmp_path, count):
  with pytest.raises(base.UserError, match='images_per_class'):
    sf.generate(str(tmp_path), count)


def test_output_dir_that_is_a_file_is_a_user_error(tmp_path):
  path = tmp_path / 'a_file'
  path.write_text('x')
  with pytest.raises(base.UserError, match='not a folder'):
    sf.generate(str(path), 1)


def test_render_image_rejects_an_unknown_class():
  with pytest.raises(ValueError, match='unknown class'):
    sf.render_image('orchids', random.Random(0))


def test_render_image_rejects_an_rng_that_is_not_random_random():
  with pytest.raises(TypeError, match='random.Random'):
    sf.render_image('daisy', 0)


def test_photos_vary_in_size_and_orientation():
  sizes = [sf.render_image('roses', sf.image_rng(0, 'roses', i)).size for i in range(12)]
  assert len(set(sizes)) > 6
  assert any(w > h for w, h in sizes)
  assert any(h > w for w, h in sizes)


# --- what tells the classes apart ---------------------------------------------------------------

@pytest.fixture(scope='module')
def flower_pixels():
  """{class: [RGB float array of the visible flower-head pixels of each photo]}."""
  pixels = {}
  for name in sf.CLASS_NAMES:
    pixels[name] = []
    for i in range(STATS_IMAGES):
      image, mask = sf.render_image_and_mask(name, sf.image_rng(0, name, i))
      assert mask.size == image.size
      region = np.asarray(image, np.float32)[np.asarray(mask) > 127]
      pixels[name].append(region)
  return pixels


def _class_mean(pixels, statistic):
  return float(np.mean([statistic(region) for region in pixels]))


def _redness(region):
  return float(np.mean(region[:, 0] - region[:, 1]))


def _whiteness(region):
  return float(np.mean(region.min(axis=1)))


def _yellowness(region):
  return float(np.mean(np.minimum(region[:, 0], region[:, 1]) - region[:, 2]))


def _dark_fraction(region):
  return float(np.mean(region.mean(axis=1) < 70))


def test_every_photo_shows_some_flower(flower_pixels):
  for name, regions in flower_pixels.items():
    assert all(len(region) > 100 for region in regions), name


def test_roses_are_redder_than_daisies_dandelions_and_sunflowers(flower_pixels):
  roses = _class_mean(flower_pixels['roses'], _redness)
  for other in ('daisy', 'dandelion', 'sunflowers'):
    assert roses > _class_mean(flower_pixels[other], _redness) + 30, other


def test_daisies_are_whiter_than_roses_sunflowers_and_tulips(flower_pixels):
  daisy = _class_mean(flower_pixels['daisy'], _whiteness)
  for other in ('roses', 'sunflowers', 'tulips'):
    assert daisy > _class_mean(flower_pixels[other], _whiteness) + 60, other


def test_dandelions_and_sunflowers_are_yellower_than_roses_and_daisies(flower_pixels):
  for yellow in ('dandelion', 'sunflowers'):
    for other in ('roses', 'daisy'):
      assert (_class_mean(flower_pixels[yellow], _yellowness)
              > _class_mean(flower_pixels[other], _yellowness) + 40), (yellow, other)


def test_sunflowers_have_the_most_dark_centre_pixels(flower_pixels):
  sunflowers = _class_mean(flower_pixels['sunflowers'], _dark_fraction)
  for other in ('daisy', 'dandelion', 'tulips'):
    assert sunflowers > _class_mean(flower_pixels[other], _dark_fraction) + 0.1, other


def test_tulips_come_in_red_and_in_yellow(flower_pixels):
  means = [region.mean(axis=0) for region in flower_pixels['tulips']]
  reds = [m for m in means if m[0] > m[1] + 60]
  yellows = [m for m in means if min(m[0], m[1]) > m[2] + 80]
  assert reds and yellows
