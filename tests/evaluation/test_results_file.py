"""evaluation.results_file: every number of an evaluation (each class, the whole confusion
matrix) in EVAL_DIR/results/step-<N>.json, whole or not at all."""
import math
import os

import numpy as np
import pytest

from evaluation import metrics
from evaluation import results
from evaluation import results_file
from support.faults import tmpfs


def a_result(matrix, step=70):
  matrix = np.asarray(matrix, np.int64)
  precision, recall, mean = metrics.class_metrics(matrix)
  return results.EvalResult(
      checkpoint='/runs/alexnet/model.ckpt-%d' % step, step=step,
      class_names=['Löwenzahn "x"'] + ['class %d' % i for i in range(1, len(matrix))],
      confusion_matrix=matrix, accuracy=np.trace(matrix) / matrix.sum(), loss=2.5,
      recall_at_k=0.75, k=results.top_k(len(matrix)), precision=precision, recall=recall,
      mean_per_class_accuracy=mean)


def random_matrix(num_classes, images, seed=0):
  rng = np.random.default_rng(seed)
  matrix = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(matrix, (rng.integers(0, num_classes, images), rng.integers(0, num_classes, images)),
            1)
  return matrix


@pytest.mark.parametrize('num_classes', [3, 300])
def test_the_file_holds_every_class_and_the_whole_matrix(tmp_path, num_classes):
  matrix = random_matrix(num_classes, 2000)
  matrix[1] = 0  # a class with no image: its recall is undefined
  result = a_result(matrix, step=680)
  path = results_file.write(str(tmp_path), result, 'validation')
  assert path == str(tmp_path / 'results' / 'step-680.json')
  back = results_file.read(path)
  assert back['confusion_matrix'] == matrix.tolist()
  assert (back['step'], back['checkpoint'], back['split']) == (680, 'model.ckpt-680',
                                                                'validation')
  assert back['num_classes'] == num_classes and back['num_examples'] == matrix.sum()
  assert back['accuracy'] == pytest.approx(result.accuracy, abs=1e-6)
  assert back[results.top_k_names(result.k)[1]] == 0.75
  assert [c['name'] for c in back['classes']] == [str(n) for n in result.class_names]
  for c in back['classes']:
    i = c['id']
    assert c['images'] == matrix[i].sum() and c['predicted'] == matrix[:, i].sum()
    for key, values in (('precision', result.precision), ('recall', result.recall)):
      if math.isnan(values[i]):
        assert c[key] is None
      else:
        assert c[key] == pytest.approx(values[i], abs=1e-6)
  assert back['classes'][1]['recall'] is None
  # One class and one matrix row a line, so a person can read it too.
  with open(path, encoding='utf-8') as f:
    assert len(f.read().splitlines()) == 2 * num_classes + 15


def test_a_write_the_disk_refuses_leaves_no_partial_file(tmp_path):
  with tmpfs(tmp_path / 'disk', '256k') as disk:
    small = results_file.write(disk, a_result(np.eye(3, dtype=np.int64)), 'validation')
    with pytest.raises(OSError):  # 1,000 classes: about 2 MB
      results_file.write(disk, a_result(random_matrix(1000, 5000)), 'validation')
    assert results_file.read(small)['num_classes'] == 3  # the step's earlier file, whole
    assert os.listdir(os.path.dirname(small)) == ['step-70.json']  # no temporary file left
