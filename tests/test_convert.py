"""datasets.convert: photo list, split, shards, manifest, idempotent reruns, verification."""
import collections
import io
import json
import os
import tarfile

import numpy as np
import pytest
from PIL import Image

import tensorflow as tf

from datasets import convert
from datasets import dataset_utils
from base import UserError

CLASSES = ('daisy', 'roses', 'tulips')


def _jpeg(seed, size=(20, 16), mode='RGB', image_format='JPEG'):
  rng = np.random.default_rng(seed)
  pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
  buf = io.BytesIO()
  Image.fromarray(pixels, 'RGB').convert(mode).save(buf, format=image_format)
  return buf.getvalue()


def make_photos(root, per_class=(5, 4, 3)):
  """root/<class>/<class>_NN.jpg small RGB JPEGs; returns root as str."""
  for class_id, (name, count) in enumerate(zip(CLASSES, per_class)):
    os.makedirs(os.path.join(root, name), exist_ok=True)
    for i in range(count):
      with open(os.path.join(root, name, '%s_%02d.jpg' % (name, i)), 'wb') as f:
        f.write(_jpeg(seed=100 * class_id + i, size=(20 + i, 16)))
  return str(root)


def convert_small(tmp_path, **kwargs):
  photos = make_photos(tmp_path / 'photos')
  dataset_dir = str(tmp_path / 'data')
  settings = dict(num_validation=3, num_shards=2, num_workers=1)
  settings.update(kwargs)
  manifest = convert.convert_photos(photos, dataset_dir, **settings)
  return photos, dataset_dir, manifest


def read_records(path):
  """[(label, filename)] of a shard."""
  records = []
  for record in tf.compat.v1.io.tf_record_iterator(path):
    feature = tf.train.Example.FromString(record).features.feature
    records.append((feature['image/class/label'].int64_list.value[0],
                    feature['image/filename'].bytes_list.value[0].decode()))
  return records


def shard_paths(dataset_dir, manifest, split):
  return [os.path.join(dataset_dir, s['file']) for s in manifest['splits'][split]['shards']]


def mtimes(dataset_dir):
  return {name: os.stat(os.path.join(dataset_dir, name)).st_mtime_ns
          for name in os.listdir(dataset_dir)}


# --- photo list and split ---------------------------------------------------------------------

def test_list_photos_sorts_classes_and_ignores_hidden_and_top_level_files(tmp_path):
  photos = make_photos(tmp_path, per_class=(1, 1, 1))
  os.makedirs(tmp_path / '.cache')
  (tmp_path / '.cache' / 'x.jpg').write_bytes(b'x')
  (tmp_path / 'LICENSE.txt').write_text('license')
  (tmp_path / 'roses' / '.DS_Store').write_bytes(b'x')
  (tmp_path / 'roses' / 'notes.txt').write_text('checked later')
  class_names, items = convert.list_photos(photos)
  assert class_names == list(CLASSES)
  assert items == [('daisy/daisy_00.jpg', 0), ('roses/notes.txt', 1), ('roses/roses_00.jpg', 1),
                   ('tulips/tulips_00.jpg', 2)]


def test_list_photos_of_missing_folder_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match='does not exist'):
    convert.list_photos(str(tmp_path / 'nope'))


def test_split_does_not_depend_on_file_system_order(tmp_path, monkeypatch):
  photos = make_photos(tmp_path)
  expected = convert.split_photos(convert.list_photos(photos)[1], 4, seed=0)
  real_listdir = os.listdir
  monkeypatch.setattr(os, 'listdir', lambda path: list(reversed(sorted(real_listdir(path)))))
  assert convert.split_photos(convert.list_photos(photos)[1], 4, seed=0) == expected


def test_same_seed_gives_the_same_split():
  items = [('c/%04d.jpg' % i, i % 5) for i in range(100)]
  assert convert.split_photos(items, 20, seed=3) == convert.split_photos(items[::-1], 20, seed=3)


def test_different_seed_gives_a_different_split():
  items = [('c/%04d.jpg' % i, i % 5) for i in range(100)]
  assert (convert.split_photos(items, 20, seed=0)['validation']
          != convert.split_photos(items, 20, seed=1)['validation'])


def test_flowers_sized_list_splits_into_3320_train_and_350_validation():
  items = [('c/%04d.jpg' % i, i % 5) for i in range(3670)]
  splits = convert.split_photos(items, 350, seed=0)
  assert (len(splits['train']), len(splits['validation'])) == (3320, 350)
  assert sorted(splits['train'] + splits['validation']) == items


def test_num_validation_not_below_photo_count_is_a_user_error():
  items = [('c/%d.jpg' % i, 0) for i in range(10)]
  with pytest.raises(UserError, match='num_validation=10 leaves no training photos'):
    convert.split_photos(items, 10)


def test_shards_always_number_num_shards_even_for_few_photos():
  ranges = convert.shard_ranges(3, 5)
  assert len(ranges) == 5
  assert sum(end - start for start, end in ranges) == 3
  assert ranges[0][0] == 0 and ranges[-1][1] == 3


# --- conversion -------------------------------------------------------------------------------

def test_manifest_counts_match_the_records(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  for split in convert.SPLITS:
    entry = manifest['splits'][split]
    labels = collections.Counter()
    for shard, path in zip(entry['shards'], shard_paths(dataset_dir, manifest, split)):
      records = read_records(path)
      assert shard['num_records'] == len(records)
      assert shard['bytes'] == os.path.getsize(path)
      labels.update(CLASSES[label] for label, _ in records)
    assert entry['num_samples'] == sum(labels.values())
    assert entry['per_class'] == {name: labels[name] for name in CLASSES}
  assert manifest['splits']['validation']['num_samples'] == 3
  assert manifest['splits']['train']['num_samples'] == 9


def test_manifest_is_written_and_readable(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path, source={'kind': 'test'}, flags={'x': 1})
  assert dataset_utils.read_manifest(dataset_dir) == manifest
  assert manifest['class_names'] == list(CLASSES) and manifest['num_classes'] == 3
  assert (manifest['source'], manifest['flags'], manifest['seed']) == ({'kind': 'test'},
                                                                       {'x': 1}, 0)
  assert manifest['created'].endswith('+00:00')


def test_labels_file_lists_sorted_class_folders(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  with open(os.path.join(dataset_dir, 'labels.txt')) as f:
    assert f.read() == '0:daisy\n1:roses\n2:tulips\n'


def test_every_split_gets_num_shards_files_even_when_small(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path, num_shards=4)
  names = sorted(n for n in os.listdir(dataset_dir) if n.endswith('.tfrecord'))
  assert names == ['flowers_%s_%05d-of-00004.tfrecord' % (split, i)
                   for split in ('train', 'validation') for i in range(4)]
  assert [s['num_records'] for s in manifest['splits']['validation']['shards']] == [0, 1, 1, 1]


def test_records_name_their_photo_and_class(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  records = [r for split in convert.SPLITS
             for path in shard_paths(dataset_dir, manifest, split) for r in read_records(path)]
  assert sorted(records) == sorted(
      (label, '%s/%s_%02d.jpg' % (name, name, i))
      for label, (name, count) in enumerate(zip(CLASSES, (5, 4, 3))) for i in range(count))


def test_odd_photos_are_reencoded_or_skipped_and_listed_in_manifest(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  odd = {'daisy/cmyk.jpg': _jpeg(1, mode='CMYK'), 'daisy/png.jpg': _jpeg(2, image_format='PNG'),
         'roses/empty.jpg': b'', 'roses/notes.txt': b'no pixels here',
         'tulips/cut.jpg': _jpeg(3, size=(64, 64))[:300]}
  for name, data in odd.items():
    with open(os.path.join(photos, name), 'wb') as f:
      f.write(data)
  dataset_dir = str(tmp_path / 'data')
  manifest = convert.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2,
                                    num_workers=1)
  assert sorted((e['file'], e['reason']) for e in manifest['reencoded']) == [
      ('daisy/cmyk.jpg', 'CMYK JPEG'), ('daisy/png.jpg', 'PNG (named .jpg)')]
  assert sorted((e['file'], e['reason'].split(' (')[0]) for e in manifest['skipped']) == [
      ('roses/empty.jpg', 'empty file'), ('roses/notes.txt', 'not an image'),
      ('tulips/cut.jpg', 'truncated or corrupt image')]
  total = sum(manifest['splits'][s]['num_samples'] for s in convert.SPLITS)
  assert total == 12 + 2
  assert convert.verify_dataset(dataset_dir) == []  # Every record decodes with decode_jpeg.


def test_two_workers_write_the_same_shards_as_one(tmp_path):
  photos = make_photos(tmp_path / 'photos', per_class=(40, 30, 30))
  shards = {}
  for workers in (1, 2):
    dataset_dir = str(tmp_path / ('data%d' % workers))
    manifest = convert.convert_photos(photos, dataset_dir, num_validation=10, num_shards=2,
                                      num_workers=workers)
    shards[workers] = [open(p, 'rb').read() for s in convert.SPLITS
                       for p in shard_paths(dataset_dir, manifest, s)]
  assert shards[1] == shards[2]


def test_bad_settings_are_user_errors_before_anything_is_written(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  for kwargs in ({'num_shards': 0}, {'dataset_name': 'a/b'}, {'num_validation': 99},
                 {'num_workers': -1}):
    with pytest.raises(UserError):
      convert.convert_photos(photos, str(tmp_path / 'data'), **kwargs)
  assert not os.path.exists(tmp_path / 'data')


# --- reruns -----------------------------------------------------------------------------------

def test_rerun_over_complete_output_changes_nothing(tmp_path):
  photos, dataset_dir, manifest = convert_small(tmp_path)
  before = mtimes(dataset_dir)
  again = convert.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2,
                                 num_workers=1)
  assert mtimes(dataset_dir) == before
  assert again == manifest


def test_removed_shard_is_detected_and_rebuilt(tmp_path):
  photos, dataset_dir, manifest = convert_small(tmp_path)
  missing = shard_paths(dataset_dir, manifest, 'train')[1]
  os.remove(missing)
  assert convert.check_complete(dataset_dir) == (
      False, 'shard %s is missing' % os.path.basename(missing))
  convert.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1)
  assert os.path.isfile(missing)
  assert convert.check_complete(dataset_dir) == (True, '')


def test_removed_manifest_is_detected_and_everything_rebuilt(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  os.remove(os.path.join(dataset_dir, 'manifest.json'))
  before = mtimes(dataset_dir)
  assert not convert.check_complete(dataset_dir)[0]
  convert.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1)
  assert convert.check_complete(dataset_dir) == (True, '')
  after = mtimes(dataset_dir)
  assert all(after[name] != before[name] for name in before if name.endswith('.tfrecord'))


def test_size_mismatch_is_detected(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  path = shard_paths(dataset_dir, manifest, 'validation')[0]
  with open(path, 'ab') as f:
    f.write(b'junk')
  ok, problem = convert.check_complete(dataset_dir)
  assert not ok and os.path.basename(path) in problem and 'bytes' in problem


def test_leftover_temp_file_is_detected_and_removed_on_rebuild(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  temp = os.path.join(dataset_dir, '.flowers_train_00000-of-00002.tfrecord.abc.tmp')
  open(temp, 'wb').close()
  assert convert.check_complete(dataset_dir) == (
      False, 'temporary file %s left by an interrupted run' % os.path.basename(temp))
  convert.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1)
  assert not os.path.exists(temp)
  assert convert.check_complete(dataset_dir) == (True, '')


def test_stale_shard_not_in_manifest_is_detected_and_removed_on_rebuild(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  stale = os.path.join(dataset_dir, 'flowers_train_00000-of-00007.tfrecord')
  open(stale, 'wb').close()
  assert convert.check_complete(dataset_dir) == (
      False, 'extra shard %s is not in manifest.json (left by an earlier run?)'
      % os.path.basename(stale))
  convert.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1)
  assert not os.path.exists(stale)
  assert convert.check_complete(dataset_dir) == (True, '')


def test_changed_settings_rebuild_and_remove_old_shards(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  manifest = convert.convert_photos(photos, dataset_dir, num_validation=3, num_shards=3,
                                    num_workers=1)
  assert manifest['splits']['train']['num_shards'] == 3
  assert convert.up_to_date(dataset_dir, 'flowers', 2, 3, 0) == (
      False, 'settings changed (num_shards 3 -> 2)')
  assert sorted(n for n in os.listdir(dataset_dir) if n.endswith('.tfrecord')) == sorted(
      s['file'] for split in convert.SPLITS for s in manifest['splits'][split]['shards'])


def test_changed_seed_is_reported_as_a_settings_change(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  assert convert.up_to_date(dataset_dir, 'flowers', 2, 3, 1) == (
      False, 'settings changed (seed 0 -> 1)')


def test_changed_photos_make_the_output_out_of_date(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  with open(os.path.join(photos, 'roses', 'new.jpg'), 'wb') as f:
    f.write(_jpeg(7))
  source = convert.photos_dir_source(photos)
  assert convert.up_to_date(dataset_dir, 'flowers', 2, 3, 0, source) == (
      False, 'settings changed (the source photos differ)')


def test_overwrite_rebuilds_a_complete_output(tmp_path):
  photos, dataset_dir, manifest = convert_small(tmp_path)
  before = mtimes(dataset_dir)
  convert.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1,
                         overwrite=True)
  after = mtimes(dataset_dir)
  assert after['manifest.json'] != before['manifest.json']
  assert after[manifest['splits']['train']['shards'][0]['file']] != \
      before[manifest['splits']['train']['shards'][0]['file']]


def test_labels_not_matching_manifest_are_detected(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  dataset_utils.write_label_file({0: 'daisy', 1: 'roses'}, dataset_dir)
  assert convert.check_complete(dataset_dir) == (
      False, 'labels.txt does not match the class names in manifest.json')


# --- verify -----------------------------------------------------------------------------------

def test_verify_finds_nothing_in_a_good_dataset(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  assert convert.verify_dataset(dataset_dir) == []


def test_verify_names_the_shard_with_a_flipped_byte(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  path = shard_paths(dataset_dir, manifest, 'train')[1]
  with open(path, 'r+b') as f:
    f.seek(os.path.getsize(path) // 2)
    byte = f.read(1)
    f.seek(-1, os.SEEK_CUR)
    f.write(bytes([byte[0] ^ 0x40]))
  problems = convert.verify_dataset(dataset_dir)
  assert problems and all(os.path.basename(path) in p for p in problems)
  assert any('corrupt' in p for p in problems)


def test_verify_names_a_truncated_shard(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  path = shard_paths(dataset_dir, manifest, 'validation')[1]
  with open(path, 'r+b') as f:
    f.truncate(os.path.getsize(path) - 10)
  problems = convert.verify_dataset(dataset_dir)
  assert any('%s is corrupt' % os.path.basename(path) in p for p in problems)
  assert all(os.path.basename(path) in p or 'split' in p for p in problems)


def test_verify_reports_a_missing_manifest(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  os.remove(os.path.join(dataset_dir, 'manifest.json'))
  assert 'no readable manifest.json' in convert.verify_dataset(dataset_dir)[0]


# --- summary and sources ----------------------------------------------------------------------

def test_summary_lists_classes_splits_and_grouped_reasons(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  manifest['skipped'] = [{'file': 'a', 'reason': 'empty file'},
                         {'file': 'b', 'reason': 'over pixel limit (9x9 = 81 > 50 pixels)'},
                         {'file': 'c', 'reason': 'over pixel limit (8x8 = 64 > 50 pixels)'}]
  text = convert.summary_text(manifest, dataset_dir)
  summary_lines = text.splitlines()
  assert dataset_dir in summary_lines[0] and '12 images of 3 classes' in summary_lines[0]
  assert any(line.split() == ['total', '9', '3'] for line in summary_lines)
  assert 'Skipped photos: 3 (empty file: 1, over pixel limit: 2)' in text


def _tgz_of(photos, path):
  with tarfile.open(path, 'w:gz') as tar:
    tar.add(photos, arcname='my_photos')
  return path


def test_file_url_archive_is_extracted_inside_dataset_dir_and_cleaned_up(tmp_path):
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(tmp_path / 'photos.tgz'))
  dataset_dir = str(tmp_path / 'data')
  manifest = convert.download_and_convert(dataset_dir, archive='file://' + archive,
                                          num_validation=3, num_shards=2, num_workers=1)
  assert manifest['source']['kind'] == 'archive' and len(manifest['source']['sha256']) == 64
  assert sum(manifest['splits'][s]['num_samples'] for s in convert.SPLITS) == 12
  assert not os.path.exists(os.path.join(dataset_dir, convert.WORK_DIRNAME))
  assert os.path.isfile(archive)  # A local archive is never removed.


def test_complete_output_from_same_archive_is_not_rebuilt(tmp_path):
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(tmp_path / 'photos.tgz'))
  dataset_dir = str(tmp_path / 'data')
  settings = dict(archive=archive, num_validation=3, num_shards=2, num_workers=1)
  convert.download_and_convert(dataset_dir, **settings)
  before = mtimes(dataset_dir)
  convert.download_and_convert(dataset_dir, **settings)
  assert mtimes(dataset_dir) == before


def test_nocleanup_keeps_the_extracted_photos(tmp_path):
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(tmp_path / 'photos.tgz'))
  dataset_dir = str(tmp_path / 'data')
  convert.download_and_convert(dataset_dir, archive=archive, num_validation=3, num_shards=2,
                               num_workers=1, cleanup=False)
  kept = os.path.join(dataset_dir, convert.WORK_DIRNAME, 'my_photos', 'daisy', 'daisy_00.jpg')
  assert os.path.isfile(kept)


def test_synthetic_source_draws_photos_per_class(tmp_path):
  dataset_dir = str(tmp_path / 'data')
  manifest = convert.download_and_convert(dataset_dir, synthetic=2, num_validation=3,
                                          num_shards=1, num_workers=1)
  assert manifest['source'] == {'kind': 'synthetic', 'images_per_class': 2, 'seed': 0}
  assert sum(manifest['splits'][s]['num_samples'] for s in convert.SPLITS) == 10


def test_too_few_synthetic_photos_for_validation_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match='num_validation=350 leaves no training photos'):
    convert.download_and_convert(str(tmp_path / 'data'), synthetic=2)


def test_two_sources_are_a_user_error(tmp_path):
  with pytest.raises(UserError, match='--archive and --photos_dir are alternatives'):
    convert.download_and_convert(str(tmp_path), archive='a.tgz', photos_dir=str(tmp_path))


def test_manifest_json_is_plain_json(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  with open(os.path.join(dataset_dir, 'manifest.json')) as f:
    assert json.load(f)['format_version'] == 1


@pytest.fixture
def http_server(tmp_path):
  """Serves tmp_path/'served' on localhost; yields the base URL."""
  import functools
  import http.server
  import threading
  served = tmp_path / 'served'
  served.mkdir()
  handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
  handler.log_message = lambda *args: None
  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
  thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
  thread.start()
  yield 'http://127.0.0.1:%d/' % server.server_address[1], served
  server.shutdown()
  server.server_close()


def test_default_source_downloads_checks_and_removes_the_archive(tmp_path, monkeypatch,
                                                                 http_server):
  from datasets import download
  base_url, served = http_server
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(served / 'flower_photos.tgz'))
  monkeypatch.setattr(download, 'FLOWERS_URL', base_url + 'flower_photos.tgz')
  monkeypatch.setattr(download, 'FLOWERS_SIZE', os.path.getsize(archive))
  monkeypatch.setattr(download, 'FLOWERS_SHA256', download.sha256_of_file(archive))
  dataset_dir = str(tmp_path / 'data')
  manifest = convert.download_and_convert(dataset_dir, num_validation=3, num_shards=2,
                                          num_workers=1)
  assert manifest['source']['kind'] == 'download'
  assert manifest['source']['sha256'] == download.FLOWERS_SHA256
  assert sum(manifest['splits'][s]['num_samples'] for s in convert.SPLITS) == 12
  assert sorted(os.listdir(dataset_dir)) == sorted(
      ['labels.txt', 'manifest.json'] + [s['file'] for split in convert.SPLITS
                                         for s in manifest['splits'][split]['shards']])


def test_wrong_checksum_of_download_is_a_user_error(tmp_path, monkeypatch, http_server):
  from datasets import download
  base_url, served = http_server
  _tgz_of(make_photos(tmp_path / 'photos'), str(served / 'flower_photos.tgz'))
  monkeypatch.setattr(download, 'FLOWERS_URL', base_url + 'flower_photos.tgz')
  with pytest.raises(UserError):
    convert.download_and_convert(str(tmp_path / 'data'), num_validation=3, num_workers=1)
  assert not convert.check_complete(str(tmp_path / 'data'))[0]
