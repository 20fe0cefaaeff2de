"""predict_alexnet.py as a command: the table on stdout, the skipped photos on stderr, and its
exit statuses (0 all classified, 1 some skipped, 2 a usage error)."""
import os

import pytest

from support.predict_helpers import reorder_labels
from support.predict_helpers import save_checkpoint
from support.predict_helpers import write_bad_files
from support.predict_helpers import write_photos
from support.scripts import assert_one_line_error
from support.scripts import run_script


@pytest.fixture(scope='module')
def train_dir(tmp_path_factory):
  folder = tmp_path_factory.mktemp('predict_script_train')
  save_checkpoint(str(folder), step=2)
  return str(folder)


@pytest.mark.slow
def test_all_photos_classified_prints_the_table_and_exits_0(train_dir, tmp_path):
  photos = write_photos(tmp_path / 'photos', ['rgb.jpg', 'photo.png', 'cmyk.jpg'])
  process = run_script('predict_alexnet.py', '--checkpoint_path=%s' % train_dir, '--top_k=2',
                       str(tmp_path / 'photos'), '--output=%s' % (tmp_path / 'out.csv'))
  assert process.returncode == 0, process.stderr[-3000:]
  lines = process.stdout.splitlines()
  assert lines[0].split() == ['photo', 'top', '1', 'top', '2']
  assert sorted(line.split()[0] for line in lines[1:]) == sorted(photos)
  assert all(line.count('%') == 2 for line in lines[1:])
  assert 'Skipped' not in process.stderr
  assert os.path.isfile(tmp_path / 'out.csv')


@pytest.mark.slow
def test_skipped_photos_are_listed_with_their_reasons_and_exit_1(train_dir, tmp_path):
  photo = write_photos(tmp_path / 'photos', ['rgb.jpg'])[0]
  bad = write_bad_files(tmp_path / 'bad')
  process = run_script('predict_alexnet.py', '--checkpoint_path=%s' % train_dir, photo,
                       str(tmp_path / 'bad' / '*.jpg'))
  assert process.returncode == 1, process.stderr[-3000:]
  assert 'Traceback' not in process.stderr
  assert [line.split()[0] for line in process.stdout.splitlines()] == ['photo', photo]
  assert 'Skipped %d of %d photos:' % (len(bad), len(bad) + 1) in process.stderr
  for path, reason in bad.items():
    assert '  %s: %s' % (path, reason) in process.stderr


@pytest.mark.slow
def test_a_reordered_labels_file_is_one_line_naming_both_files_and_exit_2(tmp_path):
  """A UserError from the shell: one line, exit 2, nothing on stdout. The predictor's other
  checks (no photos named, a checkpoint that does not exist, ...) leave the script the same way;
  they are tested in process (test_predict), where they cost no TensorFlow start-up of their
  own."""
  train_dir = str(tmp_path / 'train')
  save_checkpoint(train_dir)
  labels = reorder_labels(train_dir)
  photo = write_photos(tmp_path / 'photos', ['rgb.jpg'])[0]
  process = run_script('predict_alexnet.py', '--checkpoint_path=%s' % train_dir, photo)
  assert_one_line_error(process, '%s does not match %s' % (labels,
                                                           os.path.join(train_dir, 'run.json')))
  assert process.stdout == ''
