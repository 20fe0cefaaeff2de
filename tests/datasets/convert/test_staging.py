"""datasets.convert.staging through the converter: a new conversion is built beside the old one and
swapped in only when complete; a failure (full disk, Ctrl-C, a kill mid-swap) loses nothing."""
import contextlib
import errno
import hashlib
import os
import signal
import subprocess
import uuid

import pytest

from base import FileSystemError
from base import UserError
from datasets import checks
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import records
from datasets.convert import staging
from datasets.convert import writer
from support.photo_fixtures import convert_small
from support.photo_fixtures import jpeg
from support.photo_fixtures import make_photos

SETTINGS = dict(num_validation=3, num_shards=2, num_workers=1)


def contents(dataset_dir):
  """{name: SHA-256} of every file and folder in dataset_dir (folders as 'dir')."""
  found = {}
  for name in os.listdir(dataset_dir):
    path = os.path.join(dataset_dir, name)
    if os.path.isdir(path):
      found[name] = 'dir'
    else:
      with open(path, 'rb') as f:
        found[name] = hashlib.sha256(f.read()).hexdigest()
  return found


def assert_untouched(dataset_dir, before):
  assert contents(dataset_dir) == before
  assert checks.check_complete(dataset_dir) == (True, '')
  assert checks.verify_dataset(dataset_dir) == []


def fail_at_record(number, error):
  """A file_writer for convert_photos whose number-th record written raises `error`, as a full
  disk would."""
  written = [0]

  @contextlib.contextmanager
  def file_writer(path):
    with records.file_writer(path) as write:
      def failing_write(example):
        written[0] += 1
        if written[0] == number:
          raise error
        write(example)
      yield failing_write
  return file_writer


def test_a_full_disk_mid_rebuild_keeps_the_earlier_dataset_complete(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  before = contents(dataset_dir)
  failing = fail_at_record(5, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
  with pytest.raises(FileSystemError,
                     match='disk full while writing the new dataset into .*MB free.*'
                           'the earlier dataset there is kept unchanged'):
    writer.convert_photos(photos, dataset_dir, **dict(SETTINGS, num_shards=3),
                          file_writer=failing)
  assert_untouched(dataset_dir, before)


def test_a_full_disk_in_a_first_conversion_leaves_no_file(tmp_path):
  failing = fail_at_record(5, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
  dataset_dir = str(tmp_path / 'data')
  with pytest.raises(UserError, match='disk full .*; nothing of it was kept'):
    writer.convert_photos(make_photos(tmp_path / 'photos'), dataset_dir, **SETTINGS,
                          file_writer=failing)
  assert os.listdir(dataset_dir) == []


def test_ctrl_c_mid_rebuild_keeps_the_earlier_dataset_complete(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  before = contents(dataset_dir)

  def interrupt(done, total):
    if done == 7:
      raise KeyboardInterrupt
  with pytest.raises(KeyboardInterrupt):
    writer.convert_photos(photos, dataset_dir, progress=interrupt, **dict(SETTINGS, seed=1))
  assert_untouched(dataset_dir, before)


def test_the_earlier_dataset_is_read_while_its_replacement_is_built(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  seen = []

  def read_old(done, total):
    if done == 6:  # Halfway through the new conversion: the old one is whole and readable.
      seen.append(dataset_factory.get_dataset('flowers', 'train', dataset_dir).num_samples)
      seen.append(checks.check_complete(dataset_dir))
  writer.convert_photos(photos, dataset_dir, progress=read_old, **dict(SETTINGS, num_shards=3))
  assert seen == [9, (True, '')]
  assert dataset_utils.read_manifest(dataset_dir)['splits']['train']['num_shards'] == 3
  assert not os.path.exists(dataset_utils.staging_dir(dataset_dir))


def test_a_rebuild_replaces_every_old_file_and_leaves_no_staging_folder(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  manifest = writer.convert_photos(photos, dataset_dir, **dict(SETTINGS, num_shards=3))
  assert sorted(os.listdir(dataset_dir)) == sorted(
      ['labels.txt', 'manifest.json'] + [shard['file'] for split in writer.SPLITS
                                         for shard in manifest['splits'][split]['shards']])
  assert checks.verify_dataset(dataset_dir) == []


class Killed(BaseException):
  """Stands for SIGKILL: nothing after it runs, not even `finally` blocks of the converter's."""


def during_swap(replace):
  """A rename for convert_photos' swap (only) that calls replace(source, target, os.replace)."""
  return lambda source, target: replace(source, target, os.replace)


def test_a_kill_mid_swap_is_refused_by_readers_and_finished_by_the_next_run(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  moved = []

  def replace_then_die(source, target, real_replace):
    if len(moved) == 2:
      raise Killed()
    moved.append(target)
    real_replace(source, target)
  with pytest.raises(Killed):
    writer.convert_photos(photos, dataset_dir, **dict(SETTINGS, num_shards=3),
                          replace=during_swap(replace_then_die))

  assert dataset_utils.swap_interrupted(dataset_dir)
  with pytest.raises(UserError, match='interrupted while its new files were moved in'):
    dataset_factory.get_dataset('flowers', 'train', dataset_dir)
  assert not checks.check_complete(dataset_dir)[0]
  manifest = writer.convert_photos(photos, dataset_dir, **dict(SETTINGS, num_shards=3))
  assert manifest['splits']['train']['num_shards'] == 3
  assert writer.up_to_date(dataset_dir, 'flowers', 3, 3, 0) == (True, '')
  assert checks.verify_dataset(dataset_dir) == []
  assert not os.path.exists(dataset_utils.staging_dir(dataset_dir))


def test_ctrl_c_during_the_swap_waits_until_the_new_dataset_is_in(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)

  def replace_with_ctrl_c(source, target, real_replace):
    signal.raise_signal(signal.SIGINT)  # Held back until the swap is done.
    real_replace(source, target)
  with pytest.raises(KeyboardInterrupt):
    writer.convert_photos(photos, dataset_dir, **dict(SETTINGS, num_shards=3),
                          replace=during_swap(replace_with_ctrl_c))
  assert writer.up_to_date(dataset_dir, 'flowers', 3, 3, 0) == (True, '')
  assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_staging_folder_left_by_a_killed_build_is_removed_by_the_next_run(tmp_path):
  photos, dataset_dir, manifest = convert_small(tmp_path)
  leftover = staging.create(dataset_dir)
  with open(os.path.join(leftover, 'flowers_train_00000-of-00002.tfrecord'), 'wb') as f:
    f.write(b'half')
  assert checks.check_complete(dataset_dir) == (True, '')  # The old output is whole.
  assert writer.convert_photos(photos, dataset_dir, **SETTINGS) == manifest
  assert not os.path.exists(leftover)


# --- a real full disk: a small tmpfs ----------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
  """A mount point; call it with a size in bytes to mount a tmpfs of that size there."""
  mount_point = tmp_path / ('disk-%s' % uuid.uuid4().hex[:8])
  mount_point.mkdir()
  mounted = []

  def mount(size):
    result = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dk' % (size // 1024 + 1),
                             'tmpfs', str(mount_point)], capture_output=True, text=True)
    if result.returncode != 0:
      pytest.skip('cannot mount a tmpfs here (%s): the injected-ENOSPC tests cover this'
                  % (result.stderr.strip() or result.returncode))
    mounted.append(mount_point)
    return str(mount_point)
  yield mount
  for path in mounted:
    subprocess.run(['umount', str(path)], check=True)


def _big_photos(root, count):
  os.makedirs(root)
  for class_name in ('daisy', 'roses'):
    os.makedirs(os.path.join(root, class_name))
    for i in range(count):
      with open(os.path.join(root, class_name, '%03d.jpg' % i), 'wb') as f:
        f.write(jpeg(seed=i + 1000 * len(class_name), size=(96, 96)))
  return str(root)


def _size(folder):
  return sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder))


def test_a_real_full_disk_keeps_the_earlier_dataset_complete(tmp_path, small_disk):
  small = _big_photos(tmp_path / 'small', 10)
  large = _big_photos(tmp_path / 'large', 20)
  measured = str(tmp_path / 'measured')
  writer.convert_photos(small, measured, **SETTINGS)
  # Room for the small dataset and half of it again, not for the large one (twice its size).
  dataset_dir = os.path.join(small_disk(_size(measured) * 3 // 2 + 64 * 1024), 'data')
  writer.convert_photos(small, dataset_dir, **SETTINGS)
  before = contents(dataset_dir)
  with pytest.raises(FileSystemError, match='disk full while writing the new dataset'):
    writer.convert_photos(large, dataset_dir, **SETTINGS)
  assert_untouched(dataset_dir, before)
