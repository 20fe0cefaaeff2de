"""download_and_convert_flowers.py as a user runs it (subprocesses: few, the rest is in-process)."""
import io
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from datasets import checks
from datasets import dataset_utils
from datasets.convert import writer
from support.scripts import ROOT
from support.scripts import assert_one_line_error
from support.scripts import run_script as _run

SCRIPT = 'download_and_convert_flowers.py'


def run_script(*args):
  return _run(SCRIPT, *args)


def make_photos(root, per_class=3, classes=('daisy', 'roses')):
  for class_id, name in enumerate(classes):
    os.makedirs(os.path.join(root, name))
    for i in range(per_class):
      pixels = np.random.default_rng(10 * class_id + i).integers(0, 256, (16, 20, 3), np.uint8)
      buf = io.BytesIO()
      Image.fromarray(pixels).save(buf, format='JPEG')
      with open(os.path.join(root, name, '%s_%d.jpg' % (name, i)), 'wb') as f:
        f.write(buf.getvalue())
  return str(root)


@pytest.mark.slow
def test_photos_dir_is_converted_end_to_end(tmp_path):
  photos = make_photos(tmp_path / 'photos')
  dataset_dir = str(tmp_path / 'data')
  result = run_script('--dataset_dir=' + dataset_dir, '--photos_dir=' + photos,
                      '--num_validation=2', '--num_shards=2', '--num_workers=1')
  assert result.returncode == 0, result.stderr
  assert "Dataset 'flowers': 6 images of 2 classes" in result.stdout
  assert checks.check_complete(dataset_dir) == (True, '')
  manifest = dataset_utils.read_manifest(dataset_dir)
  assert manifest['flags']['photos_dir'] == photos


@pytest.mark.slow
def test_archive_given_as_file_url_is_converted_end_to_end(tmp_path):
  pytest.importorskip('datasets.convert.archive',
                      reason='datasets/convert/archive.py not written yet')
  archive = str(tmp_path / 'photos.tgz')
  with tarfile.open(archive, 'w:gz') as tar:
    tar.add(make_photos(tmp_path / 'photos'), arcname='photos')
  dataset_dir = str(tmp_path / 'data')
  result = run_script('--dataset_dir=' + dataset_dir, '--archive=file://' + archive,
                      '--num_validation=2', '--num_shards=1', '--num_workers=1')
  assert result.returncode == 0, result.stderr
  assert sorted(os.listdir(dataset_dir)) == [
      '.convert.lock', 'flowers_train_00000-of-00001.tfrecord',
      'flowers_validation_00000-of-00001.tfrecord', 'labels.txt', 'manifest.json']


@pytest.mark.slow
def test_verify_exits_1_and_names_the_damaged_shard(tmp_path):
  dataset_dir = str(tmp_path / 'data')
  manifest = writer.convert_photos(make_photos(tmp_path / 'photos'), dataset_dir,
                                   num_validation=2, num_shards=1, num_workers=1)
  shard = manifest['splits']['train']['shards'][0]['file']
  with open(os.path.join(dataset_dir, shard), 'r+b') as f:
    f.truncate(manifest['splits']['train']['shards'][0]['bytes'] - 5)
  result = run_script('--dataset_dir=' + dataset_dir, '--verify')
  assert result.returncode == 1
  assert shard in result.stdout and 'Traceback' not in result.stderr


@pytest.mark.slow
def test_imported_its_run_and_verify_work(tmp_path):
  # (In a subprocess: importing the script defines its flags.)
  photos = make_photos(tmp_path / 'photos')
  dataset_dir = str(tmp_path / 'data')
  code = ('import sys, download_and_convert_flowers as c; '
          'config = c.ConvertConfig(dataset_dir=%r, photos_dir=%r, num_validation=2, '
          'num_shards=1, num_workers=1); '
          'print(c.run(config), c.verify(%r, "flowers"))' % (dataset_dir, photos, dataset_dir))
  result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip().splitlines()[-1] == '0 0'
  assert checks.check_complete(dataset_dir) == (True, '')
  assert dataset_utils.read_manifest(dataset_dir)['flags']['photos_dir'] == photos


def test_missing_dataset_dir_exits_2_with_one_line():
  """A UserError once TensorFlow loaded (here the script's own) is one line and exit 2. The
  sources' checks (a --photos_dir that is not a folder, two sources, a --dataset_dir with glob
  characters, a train/ folder without validation/) leave the same way; they are tested in
  process (test_sources), where they cost no TensorFlow start-up of their own."""
  assert_one_line_error(run_script('--synthetic=2'), '--dataset_dir is required')


def test_bad_flag_value_exits_2_with_one_line(tmp_path):
  result = run_script('--dataset_dir=%s' % (tmp_path / 'data'), '--num_shards=many')
  assert_one_line_error(result, '--num_shards')


def test_what_its_worker_processes_import_has_no_tensorflow():
  # A spawned worker runs the script's top level as __mp_main__, then imports the module of the
  # function it is given (datasets.images): none of it may pull in TensorFlow.
  code = ('import runpy, sys; runpy.run_path(%r, run_name="__mp_main__"); '
          'import datasets.images; print("tensorflow" in sys.modules)' % SCRIPT)
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                       cwd=ROOT)
  assert out.stdout.strip() == 'False'


@pytest.mark.slow
def test_many_classes_that_come_split_print_a_bounded_summary_on_every_run(tmp_path):
  classes = ['c%02d' % c for c in range(25)]
  make_photos(tmp_path / 'photos' / 'train', per_class=4, classes=classes)
  make_photos(tmp_path / 'photos' / 'val', per_class=2, classes=classes)
  dataset_dir = str(tmp_path / 'data')
  args = ('--dataset_dir=' + dataset_dir, '--photos_dir=%s' % (tmp_path / 'photos'),
          '--num_shards=1', '--num_workers=1')
  first, again = run_script(*args), run_script(*args)
  assert first.returncode == again.returncode == 0, first.stderr[-2000:]
  assert first.stdout == again.stdout and 'nothing to do' in again.stderr
  lines = first.stdout.splitlines()
  assert "Dataset 'flowers': 150 images of 25 classes" in lines[0] and len(lines) <= 30
  assert lines[1].startswith('  25 classes; images per class: train min 4, median 4, max 4; '
                             'validation min 2, median 2, max 2')
  assert '  ... 5 more classes' in lines
  assert 'The photos come split (train/ and val/): that split is kept' in first.stderr
