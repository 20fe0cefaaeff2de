"""Nothing lost, part 3 (issue 22, item 3): a dataset converted again into the --dataset_dir a
trainer or an evaluator reads (download_and_convert_flowers.py --overwrite, other photos) stops
it with one line, exit status 2: TensorFlow's readers open the shards by name at every epoch, and
they would go on with the new photos (a sixth class trained as "no class" by a net of five
outputs) under the old class count, sizes and schedule."""
import json
import os
import re
import shutil
import types

import pytest

from base import UserError
from datasets import flowers
from datasets import identity
from evaluation import eval_state
from evaluation import evaluator
from evaluation import results_file
from support.dataset_helpers import CLASS_NAMES
from support.dataset_helpers import write_records_dataset
from support.eval_helpers import eval_config
from support.faults import Running
from support.faults import assert_last_line_error

TRAIN = 'train_alexnet.py'
SIX_CLASSES = CLASS_NAMES + ('lilies',)
CHANGED = (r'dataset %s changed while %s \(was 5 classes, \d+ %s images, converted [0-9T:+-]+; now '
           r'6 classes, \d+ %s images, converted [0-9T:+-]+\)')


def convert_six_classes(dataset_dir):
  """Converts photos of six classes into dataset_dir, as download_and_convert_flowers.py does
  over a dataset of five (built beside it, then swapped in)."""
  write_records_dataset(dataset_dir, per_class=6, num_validation=6, class_names=SIX_CLASSES)


def test_an_opened_split_knows_its_files_and_notices_a_conversion_swapped_in(tmp_path):
  dataset_dir = str(tmp_path / 'data')
  write_records_dataset(dataset_dir, per_class=3, num_validation=5)
  dataset = flowers.get_split('train', dataset_dir)
  assert dataset.opened.description.startswith('5 classes, 10 train images, converted 20')
  assert identity.changed_error(dataset, 'training', 'x') is None
  with open(dataset.data_sources[0], 'r+b') as f:  # rewritten in place: the same inode and size
    first = f.read(1)
    f.seek(0)
    f.write(bytes([first[0] ^ 1]))
  assert identity.changed_error(dataset, 'training', 'x') is not None
  dataset = flowers.get_split('train', dataset_dir)
  convert_six_classes(dataset_dir)
  error = identity.changed_error(dataset, 'training', 'what to do')
  assert error is not None
  assert str(error).startswith('dataset %s changed while training (was 5 classes, 10 train '
                               'images, converted ' % dataset_dir)
  assert '; now 6 classes, 30 train images, converted ' in str(error)
  assert str(error).endswith('): what to do')


def test_a_split_of_shards_without_a_manifest_is_described_by_its_labels(tmp_path):
  dataset_dir = str(tmp_path / 'data')
  write_records_dataset(dataset_dir, per_class=3, num_validation=5, write_manifest=False)
  dataset = flowers.get_split('validation', dataset_dir)
  assert dataset.opened.description == '5 classes in labels.txt, no manifest.json'
  assert identity.changed_error(dataset, 'evaluating', 'x') is None


@pytest.mark.slow
def test_a_dataset_converted_again_under_training_stops_it_with_one_line(tmp_path):
  dataset_dir = str(tmp_path / 'data')
  write_records_dataset(dataset_dir, per_class=6, num_validation=5)
  train_dir = str(tmp_path / 'run')
  running = Running(TRAIN, '--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir,
                    '--batch_size=2', '--max_number_of_steps=300', '--num_readers=1',
                    '--num_preprocessing_threads=1', '--log_every_n_steps=1',
                    '--nosummarize_histograms', '--save_interval_secs=1',
                    # Saves of half the size (no momentum), smaller steps: neither is tested.
                    '--optimizer=sgd', '--train_image_size=195')
  try:
    running.wait_for(r'step 3/300')
    convert_six_classes(dataset_dir)
    status = running.finish(timeout=600)  # before: on to step 300 with the six classes, status 0
  finally:
    if running.process.poll() is None:
      running.process.kill()
  assert_last_line_error(types.SimpleNamespace(returncode=status, stderr=running.output),
                         'training stopped at step ', ' without saving it, so its checkpoints '
                         'are of the dataset it started on')
  assert re.search(CHANGED % (re.escape(dataset_dir), 'training', 'train', 'train'),
                   running.output.strip().splitlines()[-1])


def evaluated_steps(eval_dir):
  with open(os.path.join(eval_dir, eval_state.EVAL_STATE_FILENAME), encoding='utf-8') as f:
    return [entry['step'] for entry in json.load(f)['evaluated']]


@pytest.mark.slow
def test_a_dataset_converted_again_between_two_evaluations_stops_the_loop(trained, tmp_path):
  dataset_dir = str(tmp_path / 'data')
  shutil.copytree(trained.dataset_dir, dataset_dir)
  eval_dir = str(tmp_path / 'eval')
  (first, _), (second, second_prefix) = trained.checkpoints[:2]
  pattern = CHANGED % (re.escape(dataset_dir), 'evaluating', 'validation', 'validation')
  with pytest.raises(UserError, match=pattern) as error:  # before: a pass over the new shards
    evaluator.evaluate(eval_config(dataset_dir, trained.train_dir, eval_dir, timeout=1,
                                   max_number_of_steps=second),
                       on_pass=lambda result, record: convert_six_classes(dataset_dir))
  assert str(error.value).endswith(
      ': nothing of %s was written, and the results in %s so far are of the dataset it started '
      'on; evaluate the new one into a new --eval_dir' % (os.path.basename(second_prefix),
                                                          eval_dir))
  assert evaluated_steps(eval_dir) == [first]
  assert not os.path.exists(results_file.path(eval_dir, second))


@pytest.mark.slow
def test_a_dataset_converted_again_during_a_pass_writes_nothing_of_it(trained, tmp_path):
  dataset_dir = str(tmp_path / 'data')
  shutil.copytree(trained.dataset_dir, dataset_dir)
  eval_dir = str(tmp_path / 'eval')
  step, prefix = trained.checkpoints[-1]
  converted = []

  def convert_once(values):
    if not converted:
      convert_six_classes(dataset_dir)
      converted.append(True)

  with pytest.raises(UserError, match=CHANGED % (re.escape(dataset_dir), 'evaluating',
                                                 'validation', 'validation')):
    evaluator.evaluate(eval_config(dataset_dir, prefix, eval_dir, batch_size=2),
                       on_batch=convert_once)
  assert not os.path.exists(results_file.path(eval_dir, step))
