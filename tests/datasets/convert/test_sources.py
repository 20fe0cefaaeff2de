"""datasets.convert.sources: an archive, a folder, synthetic photos or the default download,
converted."""
import os
import tarfile

import pytest

import base
from base import UserError
from datasets import checks
from datasets import dataset_utils
from datasets.convert import sources
from datasets.convert import writer
from support.photo_fixtures import make_photos
from support.photo_fixtures import mtimes

SPLITS = dataset_utils.SPLITS


def _tgz_of(photos, path):
  with tarfile.open(path, 'w:gz') as tar:
    tar.add(photos, arcname='my_photos')
  return path


def test_file_url_archive_is_extracted_inside_dataset_dir_and_cleaned_up(tmp_path):
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(tmp_path / 'photos.tgz'))
  dataset_dir = str(tmp_path / 'data')
  manifest = sources.download_and_convert(dataset_dir, archive='file://' + archive,
                                          num_validation=3, num_shards=2, num_workers=1)
  assert manifest['source']['kind'] == 'archive' and len(manifest['source']['sha256']) == 64
  assert sum(manifest['splits'][s]['num_samples'] for s in SPLITS) == 12
  assert not os.path.exists(os.path.join(dataset_dir, sources.WORK_DIRNAME))
  assert os.path.isfile(archive)  # A local archive is never removed.


def test_complete_output_from_same_archive_is_not_rebuilt(tmp_path):
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(tmp_path / 'photos.tgz'))
  dataset_dir = str(tmp_path / 'data')
  settings = dict(archive=archive, num_validation=3, num_shards=2, num_workers=1)
  sources.download_and_convert(dataset_dir, **settings)
  before = mtimes(dataset_dir)
  sources.download_and_convert(dataset_dir, **settings)
  assert mtimes(dataset_dir) == before


def test_nocleanup_keeps_the_extracted_photos(tmp_path):
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(tmp_path / 'photos.tgz'))
  dataset_dir = str(tmp_path / 'data')
  sources.download_and_convert(dataset_dir, archive=archive, num_validation=3, num_shards=2,
                               num_workers=1, cleanup=False)
  kept = os.path.join(dataset_dir, sources.WORK_DIRNAME, 'my_photos', 'daisy', 'daisy_00.jpg')
  assert os.path.isfile(kept)


def test_photos_kept_in_the_work_folder_are_refused_as_a_source(tmp_path):
  """A later conversion empties DIR/.work first: converting the photos kept there would delete
  them (and the user's edits)."""
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(tmp_path / 'photos.tgz'))
  dataset_dir = str(tmp_path / 'data')
  sources.download_and_convert(dataset_dir, archive=archive, num_validation=3, num_shards=2,
                               num_workers=1, cleanup=False)
  kept = os.path.join(dataset_dir, sources.WORK_DIRNAME, 'my_photos')
  with pytest.raises(UserError, match=r'--photos_dir=.* is inside .*\.work, which the '
                     'conversion empties first'):
    sources.download_and_convert(dataset_dir, photos_dir=kept, num_validation=3, num_workers=1)
  assert os.path.isfile(os.path.join(kept, 'daisy', 'daisy_00.jpg'))


def test_one_dataset_per_folder_and_none_emptied_by_photos_that_all_fail(tmp_path):
  """Another --dataset_name in the same folder is refused (it took over labels.txt under the
  first one's shards); a conversion that keeps no photo leaves the earlier dataset in place."""
  photos = make_photos(tmp_path / 'photos')
  dataset_dir = str(tmp_path / 'data')
  settings = dict(photos_dir=photos, num_validation=3, num_shards=2, num_workers=1)
  sources.download_and_convert(dataset_dir, dataset_name='mine', **settings)
  with pytest.raises(UserError, match='holds the dataset mine .*convert other into another'):
    sources.download_and_convert(dataset_dir, dataset_name='other', **settings)
  before = mtimes(dataset_dir)
  with pytest.raises(UserError, match=r'no photo of the train split could be converted '
                     r'\(skipped: over pixel limit: \d+\)'):
    sources.download_and_convert(dataset_dir, dataset_name='mine', max_pixels=10, **settings)
  assert mtimes(dataset_dir) == before


def test_synthetic_source_draws_photos_per_class(tmp_path):
  dataset_dir = str(tmp_path / 'data')
  manifest = sources.download_and_convert(dataset_dir, synthetic=2, num_validation=3,
                                          num_shards=1, num_workers=1)
  assert manifest['source'] == {'kind': 'synthetic', 'images_per_class': 2, 'seed': 0}
  assert sum(manifest['splits'][s]['num_samples'] for s in SPLITS) == 10


def test_too_few_synthetic_photos_for_validation_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match='num_validation=350 leaves no training photos'):
    sources.download_and_convert(str(tmp_path / 'data'), synthetic=2)


def test_two_sources_are_a_user_error(tmp_path):
  with pytest.raises(UserError, match='--archive and --photos_dir are alternatives'):
    sources.download_and_convert(str(tmp_path), archive='a.tgz', photos_dir=str(tmp_path))
  with pytest.raises(UserError, match='--photos_dir and --synthetic are alternatives'):
    sources.download_and_convert(str(tmp_path / 'data'), synthetic=2, photos_dir=str(tmp_path))


def test_a_photos_dir_that_does_not_exist_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match=r'--photos_dir .*nope is not a folder'):
    sources.download_and_convert(str(tmp_path / 'data'), photos_dir=str(tmp_path / 'nope'))
  assert os.listdir(str(tmp_path)) == []


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


def test_default_source_downloads_checks_and_removes_the_archive(tmp_path, http_server):
  from datasets.convert import download
  base_url, served = http_server
  archive = _tgz_of(make_photos(tmp_path / 'photos'), str(served / 'flower_photos.tgz'))
  served_archive = download.Archive(base_url + 'flower_photos.tgz', os.path.getsize(archive),
                                    download.sha256_of_file(archive))
  dataset_dir = str(tmp_path / 'data')
  manifest = sources.download_and_convert(dataset_dir, num_validation=3, num_shards=2,
                                          num_workers=1, default_archive=served_archive)
  assert manifest['source']['kind'] == 'download'
  assert manifest['source']['sha256'] == served_archive.sha256
  assert sum(manifest['splits'][s]['num_samples'] for s in SPLITS) == 12
  assert sorted(os.listdir(dataset_dir)) == sorted(
      ['labels.txt', 'manifest.json', sources.LOCK_FILENAME] + [s['file'] for split in SPLITS
                                         for s in manifest['splits'][split]['shards']])


def test_wrong_checksum_of_download_is_a_user_error(tmp_path, http_server):
  from datasets.convert import download
  base_url, served = http_server
  _tgz_of(make_photos(tmp_path / 'photos'), str(served / 'flower_photos.tgz'))
  with pytest.raises(UserError):
    sources.download_and_convert(
        str(tmp_path / 'data'), num_validation=3, num_workers=1,
        default_archive=download.FLOWERS._replace(url=base_url + 'flower_photos.tgz'))
  assert not checks.check_complete(str(tmp_path / 'data'))[0]


def test_a_dataset_dir_with_glob_characters_is_refused_before_anything_is_fetched(tmp_path):
  with pytest.raises(UserError, match=r'--dataset_dir=.*data\* has glob characters'):
    sources.download_and_convert(str(tmp_path / 'data*'), synthetic=2, num_validation=3)
  assert os.listdir(str(tmp_path)) == []


def test_the_flowers_archive_is_not_renamed_by_another_dataset_name(tmp_path):
  with pytest.raises(UserError, match='--dataset_name=cifar10 would name them cifar10_'):
    sources.download_and_convert(str(tmp_path / 'out'), dataset_name='cifar10')
  assert not (tmp_path / 'out').exists()


def test_a_second_conversion_into_a_folder_in_use_is_refused(tmp_path):
  out = tmp_path / 'out'
  out.mkdir()
  with base.folder_lock(str(out), sources.LOCK_FILENAME, 'a conversion'):
    with pytest.raises(UserError, match='in use by a conversion'):
      sources.download_and_convert(str(out), synthetic=2, num_validation=2, num_workers=1)
  assert sorted(os.listdir(out)) == [sources.LOCK_FILENAME]


# --- photos that come split -------------------------------------------------------------------

def _given_split_photos(root):
  """root/train/<class>/ and root/val/<class>/ (roses only in train), and a test/ beside them."""
  make_photos(root / 'train', per_class=(3, 3, 3))
  make_photos(root / 'val', per_class=(1, 0, 2))
  make_photos(root / 'test', per_class=(1, 1, 1))
  return str(root)


def test_a_photos_dir_that_comes_split_keeps_its_split_whatever_num_validation(tmp_path):
  photos = _given_split_photos(tmp_path / 'photos')
  dataset_dir = str(tmp_path / 'data')
  manifest = sources.download_and_convert(dataset_dir, photos_dir=photos, num_shards=1,
                                          num_workers=1)  # (the default num_validation=350)
  assert (manifest['split'], manifest['split_folders']) == (
      'given', {'train': 'train', 'validation': 'val'})
  assert manifest['splits']['validation']['per_class'] == {'daisy': 1, 'roses': 0, 'tulips': 2}
  assert manifest['splits']['train']['num_samples'] == 9
  before = mtimes(dataset_dir)
  sources.download_and_convert(dataset_dir, photos_dir=photos, num_validation=2, num_shards=1,
                               num_workers=1)
  assert mtimes(dataset_dir) == before  # num_validation does not matter to a given split


def test_a_fifo_and_a_link_to_dev_zero_in_photos_dir_are_skipped_and_listed(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  os.mkfifo(os.path.join(photos, 'daisy', 'pipe.jpg'))  # opening it would wait for a writer
  os.symlink('/dev/zero', os.path.join(photos, 'roses', 'zero.jpg'))  # never ends
  dataset_dir = str(tmp_path / 'data')
  manifest = sources.download_and_convert(dataset_dir, photos_dir=photos, num_validation=3,
                                          num_shards=2, num_workers=1)
  assert manifest['skipped'] == [
      {'file': 'daisy/pipe.jpg', 'reason': 'not a regular file (FIFO)'},
      {'file': 'roses/zero.jpg', 'reason': 'not a regular file (character device)'}]
  assert sum(manifest['splits'][split]['num_samples'] for split in SPLITS) == 12
  assert 'Skipped photos: 2 (not a regular file: 2)' in writer.summary_text(manifest,
                                                                              dataset_dir)
  assert checks.check_complete(dataset_dir, 'flowers')[0]


def test_an_archive_that_comes_split_is_extracted_and_keeps_its_split(tmp_path):
  archive = _tgz_of(_given_split_photos(tmp_path / 'photos'), str(tmp_path / 'photos.tgz'))
  dataset_dir = str(tmp_path / 'data')
  manifest = sources.download_and_convert(dataset_dir, archive=archive, num_shards=1,
                                          num_workers=1, cleanup=False)
  assert manifest['split'] == 'given'
  assert [manifest['splits'][s]['num_samples'] for s in SPLITS] == [9, 3]
  assert {m['reason'] for m in manifest['refused_members']} == {'a split that is not converted'}
  assert os.listdir(os.path.join(dataset_dir, sources.WORK_DIRNAME, 'my_photos')) in (
      ['train', 'val'], ['val', 'train'])
  before = mtimes(dataset_dir)
  sources.download_and_convert(dataset_dir, archive=archive, num_validation=5, num_shards=1,
                               num_workers=1)
  assert mtimes(dataset_dir) == before


def test_a_train_folder_without_validation_is_refused_before_anything_is_written(tmp_path):
  make_photos(tmp_path / 'photos' / 'train')
  make_photos(tmp_path / 'photos' / 'test')
  with pytest.raises(UserError, match='has a train/ folder but no validation/ or val/'):
    sources.download_and_convert(str(tmp_path / 'data'), photos_dir=str(tmp_path / 'photos'),
                                 num_validation=3, num_workers=1)
  assert not os.path.exists(tmp_path / 'data')


def test_synthetic_photos_of_one_per_class_leave_nothing_for_validation(tmp_path):
  with pytest.raises(UserError, match='num_validation=2 would leave a class without a training'):
    sources.download_and_convert(str(tmp_path / 'data'), synthetic=1, num_validation=2)
  assert not os.path.exists(tmp_path / 'data')
