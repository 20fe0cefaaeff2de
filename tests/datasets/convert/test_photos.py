"""datasets.convert.photos: the class-folder list, the seeded split, the shard ranges, the worker
pool."""
import contextlib
import os
import socket
import subprocess
import sys

import pytest

from base import UserError
from datasets import images
from datasets.convert import photos
from support.photo_fixtures import CLASSES
from support.photo_fixtures import make_photos

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


# --- photo list and split ---------------------------------------------------------------------

def test_list_photos_sorts_classes_and_ignores_hidden_and_top_level_files(tmp_path):
  photos_dir = make_photos(tmp_path, per_class=(1, 1, 1))
  os.makedirs(tmp_path / '.cache')
  (tmp_path / '.cache' / 'x.jpg').write_bytes(b'x')
  (tmp_path / 'LICENSE.txt').write_text('license')
  (tmp_path / 'roses' / '.DS_Store').write_bytes(b'x')
  (tmp_path / 'roses' / 'notes.txt').write_text('checked later')
  class_names, items, not_files = photos.list_photos(photos_dir)
  assert class_names == list(CLASSES) and not_files == []
  assert items == [('daisy/daisy_00.jpg', 0), ('roses/notes.txt', 1), ('roses/roses_00.jpg', 1),
                   ('tulips/tulips_00.jpg', 2)]


def test_what_is_no_regular_file_is_listed_apart_with_its_reason_and_never_opened(tmp_path):
  photos_dir = make_photos(tmp_path, per_class=(1, 1, 1))
  os.mkfifo(tmp_path / 'daisy' / 'pipe.jpg')  # opening it would wait for a writer
  os.symlink('/dev/zero', tmp_path / 'roses' / 'zero.jpg')  # reading it would never end
  os.symlink(tmp_path / 'nowhere.jpg', tmp_path / 'roses' / 'gone.jpg')
  with socket.socket(socket.AF_UNIX) as server:
    server.bind(str(tmp_path / 'tulips' / 'sock.jpg'))
    _, items, not_files = photos.list_photos(photos_dir)
  assert [relative for relative, _ in items] == [
      'daisy/daisy_00.jpg', 'roses/roses_00.jpg', 'tulips/tulips_00.jpg']
  assert not_files == [('daisy/pipe.jpg', 'not a regular file (FIFO)'),
                       ('roses/gone.jpg', 'cannot read file (No such file or directory)'),
                       ('roses/zero.jpg', 'not a regular file (character device)'),
                       ('tulips/sock.jpg', 'not a regular file (socket)')]


def test_a_fifo_checked_as_a_photo_is_skipped_without_waiting(tmp_path):
  """A file that became a FIFO after the listing is opened without waiting and skipped (in a
  process of its own, so that a wait fails the test by its timeout)."""
  os.mkfifo(tmp_path / 'pipe.jpg')
  code = ('import sys, datasets.images as i; '
          'print([i.check_image(p).skipped for p in sys.argv[1:]])')
  out = subprocess.run([sys.executable, '-c', code, str(tmp_path / 'pipe.jpg'), '/dev/zero'],
                       capture_output=True, text=True, check=True, cwd=ROOT, timeout=120)
  assert out.stdout.strip() == str(['not a regular file (FIFO)',
                                    'not a regular file (character device)'])


def test_list_photos_of_missing_folder_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match='does not exist'):
    photos.list_photos(str(tmp_path / 'nope'))


def test_split_does_not_depend_on_file_system_order(tmp_path, monkeypatch):
  photos_dir = make_photos(tmp_path)
  expected = photos.split_photos(photos.list_photos(photos_dir)[1], 4, seed=0)
  real_listdir, real_scandir = os.listdir, os.scandir
  monkeypatch.setattr(os, 'listdir', lambda path: list(reversed(sorted(real_listdir(path)))))

  @contextlib.contextmanager
  def reversed_scandir(path):
    with real_scandir(path) as entries:
      yield iter(sorted(entries, key=lambda entry: entry.name, reverse=True))
  monkeypatch.setattr(os, 'scandir', reversed_scandir)
  assert photos.split_photos(photos.list_photos(photos_dir)[1], 4, seed=0) == expected


def test_same_seed_gives_the_same_split():
  items = [('c/%04d.jpg' % i, i % 5) for i in range(100)]
  assert photos.split_photos(items, 20, seed=3) == photos.split_photos(items[::-1], 20, seed=3)


def test_different_seed_gives_a_different_split():
  items = [('c/%04d.jpg' % i, i % 5) for i in range(100)]
  assert (photos.split_photos(items, 20, seed=0)['validation']
          != photos.split_photos(items, 20, seed=1)['validation'])


def test_flowers_sized_list_splits_into_3320_train_and_350_validation():
  items = [('c/%04d.jpg' % i, i % 5) for i in range(3670)]
  splits = photos.split_photos(items, 350, seed=0)
  assert (len(splits['train']), len(splits['validation'])) == (3320, 350)
  assert sorted(splits['train'] + splits['validation']) == items


def test_num_validation_not_below_photo_count_is_a_user_error():
  items = [('c/%d.jpg' % i, 0) for i in range(10)]
  with pytest.raises(UserError, match='num_validation=10 leaves no training photos'):
    photos.split_photos(items, 10)


def test_shards_always_number_num_shards_even_for_few_photos():
  ranges = photos.shard_ranges(3, 5)
  assert len(ranges) == 5
  assert sum(end - start for start, end in ranges) == 3
  assert ranges[0][0] == 0 and ranges[-1][1] == 3


# --- the worker processes ---------------------------------------------------------------------

def test_worker_processes_check_photos_without_importing_tensorflow(tmp_path):
  photos_dir = make_photos(tmp_path, per_class=(1, 1, 1))
  paths = [os.path.join(photos_dir, relative) for relative, _ in photos.list_photos(photos_dir)[1]]
  executor = photos.worker_pool(1)
  try:
    results = executor.submit(images.check_images, paths).result()
    loaded = executor.submit(eval, '"tensorflow" in __import__("sys").modules').result()
  finally:
    executor.shutdown()
  assert [result.ok for result in results] == [True] * 3
  assert loaded is False  # This process has TensorFlow; a spawned worker starts without it.


def test_the_converter_modules_that_workers_import_do_not_import_tensorflow():
  code = ('import sys, datasets.images, datasets.convert.photos, datasets.dataset_utils; '
          'print("tensorflow" in sys.modules)')
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                       cwd=ROOT)
  assert out.stdout.strip() == 'False'


# --- class names from folder names ------------------------------------------------------------

def test_control_characters_in_class_folders_become_spaces():
  assert photos.clean_class_name('roses') == 'roses'
  assert photos.clean_class_name('  two  spaces ') == '  two  spaces '  # Unchanged: as given.
  assert photos.clean_class_name('tu\nlips') == 'tu lips'
  assert photos.clean_class_name('tu\r\n\tlips\n') == 'tu lips'
  assert photos.clean_class_name('a\u2028b\x7fc\x85') == 'a b c'
  assert photos.clean_class_name('L\u00f6wenzahn \u3072\u307e\u308f\u308a') == \
      'L\u00f6wenzahn \u3072\u307e\u308f\u308a'


def test_class_names_of_reports_renamed_folders_and_refuses_empty_names():
  assert photos.class_names_of(['daisy', 'ro\nses']) == (
      ['daisy', 'ro ses'],
      [{'folder': 'ro\nses', 'class_name': 'ro ses', 'reason': 'control characters'}])
  with pytest.raises(UserError, match='has no printable character'):
    photos.class_names_of(['daisy', '\n\t'])


def test_the_fingerprint_changes_when_a_photo_is_edited_in_place(tmp_path):
  folder = make_photos(tmp_path / 'photos')
  before = photos.photos_fingerprint(folder)
  photo = os.path.join(folder, 'daisy', 'daisy_00.jpg')
  status = os.stat(photo)
  os.utime(photo, ns=(status.st_atime_ns, status.st_mtime_ns + 10 ** 9))  # same size, edited
  assert photos.photos_fingerprint(folder) != before
