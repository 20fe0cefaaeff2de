"""datasets.convert.writer: shards, labels.txt and the manifest, idempotent reruns, the summary."""
import collections
import json
import os

import pytest

from base import UserError
from datasets import checks
from datasets import dataset_utils
from datasets.convert import writer
from support.photo_fixtures import CLASSES
from support.photo_fixtures import convert_small
from support.photo_fixtures import huge_file
from support.photo_fixtures import jpeg
from support.photo_fixtures import jpeg_with_orientation
from support.photo_fixtures import make_photos
from support.photo_fixtures import mtimes
from support.photo_fixtures import read_records
from support.photo_fixtures import shard_paths

SPLITS = writer.SPLITS


# --- conversion -------------------------------------------------------------------------------

def test_manifest_counts_match_the_records(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  for split in SPLITS:
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
  records = [r for split in SPLITS
             for path in shard_paths(dataset_dir, manifest, split) for r in read_records(path)]
  assert sorted(records) == sorted(
      (label, '%s/%s_%02d.jpg' % (name, name, i))
      for label, (name, count) in enumerate(zip(CLASSES, (5, 4, 3))) for i in range(count))


def test_odd_photos_are_reencoded_or_skipped_and_listed_in_manifest(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  odd = {'daisy/cmyk.jpg': jpeg(1, mode='CMYK'), 'daisy/png.jpg': jpeg(2, image_format='PNG'),
         'roses/empty.jpg': b'', 'roses/notes.txt': b'no pixels here',
         'tulips/cut.jpg': jpeg(3, size=(64, 64))[:300]}
  for name, data in odd.items():
    with open(os.path.join(photos, name), 'wb') as f:
      f.write(data)
  huge_file(os.path.join(photos, 'tulips', 'huge.jpg'), jpeg(4))  # 3 GB, sparse
  dataset_dir = str(tmp_path / 'data')
  manifest = writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2,
                                    num_workers=1)
  assert sorted((e['file'], e['reason']) for e in manifest['reencoded']) == [
      ('daisy/cmyk.jpg', 'CMYK JPEG'), ('daisy/png.jpg', 'PNG (named .jpg)')]
  assert sorted((e['file'], e['reason'].split(' (')[0]) for e in manifest['skipped']) == [
      ('roses/empty.jpg', 'empty file'), ('roses/notes.txt', 'not an image'),
      ('tulips/cut.jpg', 'truncated or corrupt image'), ('tulips/huge.jpg', 'file too large')]
  total = sum(manifest['splits'][s]['num_samples'] for s in SPLITS)
  assert total == 12 + 2
  assert checks.verify_dataset(dataset_dir) == []  # Every record decodes with decode_jpeg.


def test_two_workers_write_the_same_shards_as_one(tmp_path):
  photos = make_photos(tmp_path / 'photos', per_class=(40, 30, 30))
  shards = {}
  for workers in (1, 2):
    dataset_dir = str(tmp_path / ('data%d' % workers))
    manifest = writer.convert_photos(photos, dataset_dir, num_validation=10, num_shards=2,
                                      num_workers=workers)
    shards[workers] = [open(p, 'rb').read() for s in SPLITS
                       for p in shard_paths(dataset_dir, manifest, s)]
  assert shards[1] == shards[2]


def test_bad_settings_are_user_errors_before_anything_is_written(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  for kwargs in ({'num_shards': 0}, {'dataset_name': 'a/b'}, {'num_validation': 99},
                 {'num_workers': -1}):
    with pytest.raises(UserError):
      writer.convert_photos(photos, str(tmp_path / 'data'), **kwargs)
  assert not os.path.exists(tmp_path / 'data')


def test_manifest_json_is_plain_json(tmp_path):
  _, dataset_dir, _ = convert_small(tmp_path)
  with open(os.path.join(dataset_dir, 'manifest.json')) as f:
    assert json.load(f)['format_version'] == 1


# --- reruns -----------------------------------------------------------------------------------

def test_rerun_over_complete_output_changes_nothing(tmp_path):
  photos, dataset_dir, manifest = convert_small(tmp_path)
  before = mtimes(dataset_dir)
  again = writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2,
                                 num_workers=1)
  assert mtimes(dataset_dir) == before
  assert again == manifest


def test_removed_shard_is_detected_and_rebuilt(tmp_path):
  photos, dataset_dir, manifest = convert_small(tmp_path)
  missing = shard_paths(dataset_dir, manifest, 'train')[1]
  os.remove(missing)
  assert checks.check_complete(dataset_dir) == (
      False, 'shard %s is missing' % os.path.basename(missing))
  writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1)
  assert os.path.isfile(missing)
  assert checks.check_complete(dataset_dir) == (True, '')


def test_removed_manifest_is_detected_and_everything_rebuilt(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  os.remove(os.path.join(dataset_dir, 'manifest.json'))
  before = mtimes(dataset_dir)
  assert not checks.check_complete(dataset_dir)[0]
  writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1)
  assert checks.check_complete(dataset_dir) == (True, '')
  after = mtimes(dataset_dir)
  assert all(after[name] != before[name] for name in before if name.endswith('.tfrecord'))


def test_leftover_temp_file_is_detected_and_removed_on_rebuild(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  temp = os.path.join(dataset_dir, '.flowers_train_00000-of-00002.tfrecord.abc.tmp')
  open(temp, 'wb').close()
  assert checks.check_complete(dataset_dir) == (
      False, 'temporary file %s left by an interrupted run' % os.path.basename(temp))
  writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1)
  assert not os.path.exists(temp)
  assert checks.check_complete(dataset_dir) == (True, '')


def test_stale_shard_not_in_manifest_is_detected_and_removed_on_rebuild(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  stale = os.path.join(dataset_dir, 'flowers_train_00000-of-00007.tfrecord')
  open(stale, 'wb').close()
  assert checks.check_complete(dataset_dir) == (
      False, 'extra shard %s is not in manifest.json (left by an earlier run?)'
      % os.path.basename(stale))
  writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1)
  assert not os.path.exists(stale)
  assert checks.check_complete(dataset_dir) == (True, '')


def test_changed_settings_rebuild_and_remove_old_shards(tmp_path):
  photos, dataset_dir, _ = convert_small(tmp_path)
  manifest = writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=3,
                                    num_workers=1)
  assert manifest['splits']['train']['num_shards'] == 3
  assert writer.up_to_date(dataset_dir, 'flowers', 2, 3, 0) == (
      False, 'settings changed (num_shards 3 -> 2)')
  assert sorted(n for n in os.listdir(dataset_dir) if n.endswith('.tfrecord')) == sorted(
      s['file'] for split in SPLITS for s in manifest['splits'][split]['shards'])


def test_overwrite_rebuilds_a_complete_output(tmp_path):
  photos, dataset_dir, manifest = convert_small(tmp_path)
  before = mtimes(dataset_dir)
  writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2, num_workers=1,
                         overwrite=True)
  after = mtimes(dataset_dir)
  assert after['manifest.json'] != before['manifest.json']
  assert after[manifest['splits']['train']['shards'][0]['file']] != \
      before[manifest['splits']['train']['shards'][0]['file']]


# --- summary ----------------------------------------------------------------------------------

def test_summary_lists_classes_splits_and_grouped_reasons(tmp_path):
  _, dataset_dir, manifest = convert_small(tmp_path)
  manifest['skipped'] = [{'file': 'a', 'reason': 'empty file'},
                         {'file': 'b', 'reason': 'over pixel limit (9x9 = 81 > 50 pixels)'},
                         {'file': 'c', 'reason': 'over pixel limit (8x8 = 64 > 50 pixels)'}]
  text = writer.summary_text(manifest, dataset_dir)
  summary_lines = text.splitlines()
  assert dataset_dir in summary_lines[0] and '12 images of 3 classes' in summary_lines[0]
  assert any(line.split() == ['total', '9', '3'] for line in summary_lines)
  assert 'Skipped photos: 3 (empty file: 1, over pixel limit: 2)' in text


# --- names the converter must not trip over ---------------------------------------------------

def test_a_dataset_dir_with_glob_characters_is_refused_and_its_sibling_untouched(tmp_path):
  photos, sibling, _ = convert_small(tmp_path)  # tmp_path/data
  before = mtimes(sibling)
  lookalike = str(tmp_path / 'dat[a]')
  with pytest.raises(UserError, match=r'--dataset_dir=.*dat\[a\] has glob characters'):
    writer.convert_photos(photos, lookalike, num_validation=3, num_shards=3, num_workers=1)
  assert mtimes(sibling) == before and not os.path.exists(lookalike)


def test_class_folder_with_a_newline_gives_a_clean_class_name_reported(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  os.rename(os.path.join(photos, 'tulips'), os.path.join(photos, 'tu\nlips\t'))
  dataset_dir = str(tmp_path / 'data')
  manifest = writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2,
                                    num_workers=1)
  with open(os.path.join(dataset_dir, 'labels.txt')) as f:
    assert f.read() == '0:daisy\n1:roses\n2:tu lips\n'
  assert manifest['class_names'] == ['daisy', 'roses', 'tu lips']
  assert manifest['renamed_classes'] == [{'folder': 'tu\nlips\t', 'class_name': 'tu lips',
                                          'reason': 'control characters'}]
  assert checks.check_complete(dataset_dir) == (True, '')
  assert 'Class folders renamed (unprintable characters): 1' in writer.summary_text(manifest,
                                                                               dataset_dir)
  assert ('tu\nlips\t/tulips_00.jpg' in
          [name for path in shard_paths(dataset_dir, manifest, 'train')
           for _, name in read_records(path)] +
          [name for path in shard_paths(dataset_dir, manifest, 'validation')
           for _, name in read_records(path)])


def test_class_folder_name_that_is_not_utf8_is_converted_with_a_readable_name(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  os.rename(os.path.join(photos.encode(), b'roses'), os.path.join(photos.encode(), b'ros\xe9s'))
  dataset_dir = str(tmp_path / 'data')
  manifest = writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2,
                                    num_workers=1)
  assert manifest['class_names'] == ['daisy', 'ros\ufffds', 'tulips']
  assert manifest['renamed_classes'][0]['reason'] == 'bytes that are not UTF-8'
  assert checks.verify_dataset(dataset_dir) == []


def test_class_folders_that_clean_to_one_name_are_a_user_error(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  os.rename(os.path.join(photos, 'tulips'), os.path.join(photos, 'roses\n'))
  with pytest.raises(UserError, match=r"class folders 'roses' and 'roses\\n' both give the "
                                      r"class name 'roses'"):
    writer.convert_photos(photos, str(tmp_path / 'data'), num_validation=3, num_workers=1)


def test_photos_with_an_exif_orientation_are_turned_upright_and_counted(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  with open(os.path.join(photos, 'roses', 'phone.jpg'), 'wb') as f:
    f.write(jpeg_with_orientation(6))
  dataset_dir = str(tmp_path / 'data')
  manifest = writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2,
                                    num_workers=1)
  assert manifest['rotated'] == [{'file': 'roses/phone.jpg', 'orientation': 6}]
  assert {'file': 'roses/phone.jpg', 'reason': 'turned upright (EXIF orientation 6)'} in \
      manifest['reencoded']
  assert 'Turned upright by their EXIF orientation: 1;' in writer.summary_text(manifest,
                                                                              dataset_dir)
  assert checks.verify_dataset(dataset_dir) == []


# --- many classes -----------------------------------------------------------------------------

def _class_folders(root, sizes):
  """root/cNNN/NN.jpg: a tiny JPEG per photo, len(sizes) classes of sizes[i] photos."""
  for c, size in enumerate(sizes):
    os.makedirs(os.path.join(root, 'c%03d' % c))
    for i in range(size):
      with open(os.path.join(root, 'c%03d' % c, '%02d.jpg' % i), 'wb') as f:
        f.write(jpeg(c * 10 + i, size=(8, 8)))
  return str(root)


def _manifest_of(sizes_by_split):
  names = ['class %03d' % i for i in range(len(sizes_by_split['train']))]
  splits = {split: {'num_samples': sum(sizes), 'num_shards': 1, 'shards': [{'bytes': 10}],
                    'per_class': dict(zip(names, sizes))}
            for split, sizes in sizes_by_split.items()}
  return {'dataset_name': 'many', 'class_names': names, 'splits': splits}


def test_the_summary_of_many_classes_is_bounded_and_lists_the_fewest_and_the_most(tmp_path):
  train = [3 + i % 4 for i in range(300)]
  train[123] = 1
  manifest = _manifest_of({'train': train, 'validation': [1] * 300})
  lines = writer.summary_text(manifest, str(tmp_path)).splitlines()
  assert len(lines) <= 30 and max(len(line) for line in lines) <= 120
  assert lines[1].split() == ['300', 'classes;', 'images', 'per', 'class:', 'train', 'min', '1,',
                              'median', '4,', 'max', '6;', 'validation', 'min', '1,', 'median',
                              '1,', 'max', '1']
  assert lines[4].split() == ['class', '123', '1', '1']  # the fewest images first
  assert '  ... 280 more classes' in lines
  assert lines[-2].split() == ['total', str(sum(train)), '300']


def test_up_to_twenty_classes_the_summary_lists_every_class_in_order(tmp_path):
  manifest = _manifest_of({'train': [5] * 20, 'validation': [2] * 20})
  lines = writer.summary_text(manifest, str(tmp_path)).splitlines()
  assert [line.split()[1] for line in lines[2:22]] == ['%03d' % i for i in range(20)]
  assert len(lines) == 24


def test_empty_class_folders_are_named_up_to_ten_then_counted(tmp_path, caplog):
  photos = _class_folders(tmp_path / 'photos', [0] * 15 + [3, 3])
  writer.convert_photos(photos, str(tmp_path / 'data'), num_validation=2, num_shards=1,
                        num_workers=1)
  messages = [r.getMessage() for r in caplog.records if 'no files' in r.getMessage()]
  assert len(messages) == 11
  assert messages[-1].startswith('5 more class folders in %s have no files (15 in all' % photos)


def test_classes_left_without_a_validation_photo_are_one_warning_with_their_count(
    tmp_path, caplog):
  photos = _class_folders(tmp_path / 'photos', [1] * 5 + [2] * 20)
  manifest = writer.convert_photos(photos, str(tmp_path / 'data'), num_validation=15,
                                    num_shards=1, num_workers=1)
  warnings = [r.getMessage() for r in caplog.records if 'no validation photo' in r.getMessage()]
  assert len(warnings) == 1 and warnings[0].startswith(
      '10 of 25 classes have no validation photo, so evaluation cannot measure them: 5 have a '
      'single photo, which goes to training; 5 got none as --num_validation=15 is below the 20 '
      'classes of two or more photos')
  per_class = manifest['splits']['validation']['per_class']
  assert sum(1 for count in per_class.values() if not count) == 10
  assert manifest['split'] == 'stratified'
  assert 'Classes without a validation photo: 10 of 25' in writer.summary_text(
      manifest, str(tmp_path / 'data'))


def test_a_dataset_of_the_split_before_stratification_is_rebuilt(tmp_path):
  photos, dataset_dir, manifest = convert_small(tmp_path)
  del manifest['split']
  dataset_utils.write_manifest(dataset_dir, manifest)
  assert writer.up_to_date(dataset_dir, 'flowers', 2, 3, 0) == (
      False, 'settings changed (split random -> stratified)')
  rebuilt = writer.convert_photos(photos, dataset_dir, num_validation=3, num_shards=2,
                                  num_workers=1)
  assert rebuilt['split'] == 'stratified'
  assert writer.up_to_date(dataset_dir, 'flowers', 2, 3, 0) == (True, '')
