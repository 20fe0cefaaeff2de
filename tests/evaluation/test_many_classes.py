"""An evaluation of many classes end to end (issue: 1,000 classes), at 40 classes of tiny photos:
top-5 accuracy, no per-class scalars, a bounded confusion picture, table and text card, and the
results file beside the events; at 5 classes the results file too, written once per step."""
import io
import logging
import os

import numpy as np
import pytest
from PIL import Image

from evaluation import evaluator
from evaluation import results_file
from summaries import run_start
from support.eval_helpers import eval_config
from support.many_classes import write_many_classes_dataset
from support.tf_helpers import read_events
from support.tf_helpers import save_random_checkpoint

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def forty_classes(tmp_path_factory):
  """40 classes of 2 photos (one of each in validation, as the split draws them) and an
  untrained 40-class net."""
  dataset_dir = str(tmp_path_factory.mktemp('forty'))
  write_many_classes_dataset(dataset_dir, 40, per_class=2, num_validation=40)
  checkpoint = save_random_checkpoint(
      os.path.join(str(tmp_path_factory.mktemp('train')), 'model.ckpt-1'), 40, 1)
  return dataset_dir, checkpoint


def test_forty_classes_get_top_5_and_bounded_views_and_every_number_in_a_file(
    forty_classes, tmp_path, caplog):
  dataset_dir, checkpoint = forty_classes
  eval_dir = tmp_path / 'eval'
  with caplog.at_level(logging.INFO):
    [result] = evaluator.evaluate(eval_config(dataset_dir, checkpoint, eval_dir,
                                              batch_size=20, dataset_name='many'))
  assert result.num_examples == 40 and result.k == 5
  tags = read_events(eval_dir)
  assert [(s, kind) for s, kind, _ in tags[run_start.TOP5_TAG]] == [(1, 'scalar')]
  assert tags[run_start.TOP5_TAG][0][2] == pytest.approx(result.recall_at_k)
  assert not [t for t in tags if t.startswith(('eval/recall', 'eval/precision/'))]
  picture = Image.open(io.BytesIO(tags['eval/confusion_matrix'][0][2]))
  assert max(picture.size) <= 1200
  card = tags['eval/results'][0][2].item()
  assert len(card) < 16 * 1024 and b'`results/step-1.json`' in card
  path = str(eval_dir / 'results' / 'step-1.json')
  back = results_file.read(path)
  np.testing.assert_array_equal(back['confusion_matrix'], result.confusion_matrix)
  assert back['num_classes'] == 40 and back['top5_accuracy'] == pytest.approx(result.recall_at_k)
  [table] = [r.getMessage() for r in caplog.records if 'more classes' in r.getMessage()]
  assert len(table.splitlines()) <= 50 and path in table
  assert max(len(line) for line in table.splitlines()) <= 400


def test_five_classes_get_their_results_file_once_per_step(records_dataset, tmp_path):
  dataset_dir, _ = records_dataset
  checkpoint = save_random_checkpoint(str(tmp_path / 'train' / 'model.ckpt-2'), 5, 2)
  eval_dir = tmp_path / 'eval'
  [result] = evaluator.evaluate(eval_config(dataset_dir, checkpoint, eval_dir, batch_size=5))
  path = eval_dir / 'results' / 'step-2.json'
  back = results_file.read(str(path))
  np.testing.assert_array_equal(back['confusion_matrix'], result.confusion_matrix)
  assert 'recall_at_2' in back and 'top5_accuracy' not in back
  tags = read_events(eval_dir)
  assert 'eval/recall_at_2' in tags and run_start.TOP5_TAG not in tags
  assert 'eval/recall/daisy' in tags
  path.write_text('written before')
  evaluator.evaluate(eval_config(dataset_dir, checkpoint, eval_dir, batch_size=5))
  assert path.read_text() == 'written before'  # the step's summaries and file: once
