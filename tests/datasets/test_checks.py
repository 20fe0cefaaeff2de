"""datasets.checks: a complete output, its settings, and every record verified."""
import os

from datasets import checks
from datasets import dataset_utils
from datasets.convert import photos
from datasets.convert import writer
from support.photo_fixtures import convert_small
from support.photo_fixtures import jpeg
from support.photo_fixtures import shard_paths

# --- complete and up to date ------------------------------------------------------------------

def test_size_mismatch_is_detected(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  path = shard_paths(dataset_dir, manifest, 'validation')[0]
  with open(path, 'ab') as f:
    f.write(b'junk')
  ok, problem = checks.check_complete(dataset_dir)
  assert not ok and os.path.basename(path) in problem and 'bytes' in problem


def test_labels_not_matching_manifest_are_detected(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  dataset_utils.write_label_file({0: 'daisy', 1: 'roses'}, dataset_dir)
  assert checks.check_complete(dataset_dir) == (
      False, 'labels.txt does not match the class names in manifest.json')


def test_changed_seed_is_reported_as_a_settings_change(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  assert writer.up_to_date(dataset_dir, 'flowers', 2, 3, 1) == (
      False, 'settings changed (seed 0 -> 1)')


def test_changed_photos_make_the_output_out_of_date(tmp_path):
  photos_dir, dataset_dir, _ = convert_small(tmp_path)
  with open(os.path.join(photos_dir, 'roses', 'new.jpg'), 'wb') as f:
    f.write(jpeg(7))
  source = photos.photos_dir_source(photos_dir)
  assert writer.up_to_date(dataset_dir, 'flowers', 2, 3, 0, source) == (
      False, 'settings changed (the source photos differ)')


# --- verify -----------------------------------------------------------------------------------

def test_verify_finds_nothing_in_a_good_dataset(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  assert checks.verify_dataset(dataset_dir) == []


def test_verify_names_the_shard_with_a_flipped_byte(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  path = shard_paths(dataset_dir, manifest, 'train')[1]
  with open(path, 'r+b') as f:
    f.seek(os.path.getsize(path) // 2)
    byte = f.read(1)
    f.seek(-1, os.SEEK_CUR)
    f.write(bytes([byte[0] ^ 0x40]))
  problems = checks.verify_dataset(dataset_dir)
  assert problems and all(os.path.basename(path) in p for p in problems)
  assert any('corrupt' in p for p in problems)


def test_verify_names_a_truncated_shard(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  path = shard_paths(dataset_dir, manifest, 'validation')[1]
  with open(path, 'r+b') as f:
    f.truncate(os.path.getsize(path) - 10)
  problems = checks.verify_dataset(dataset_dir)
  assert any('%s is corrupt' % os.path.basename(path) in p for p in problems)
  assert all(os.path.basename(path) in p or 'split' in p for p in problems)


def test_verify_reports_a_missing_manifest(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  os.remove(os.path.join(dataset_dir, 'manifest.json'))
  assert 'no readable manifest.json' in checks.verify_dataset(dataset_dir)[0]
