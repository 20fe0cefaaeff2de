"""Top-5 accuracy from 10 classes on (scalar, HParams metric, Custom Scalars chart, table,
eval_state's entries); recall@2 below, as before."""

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2

from evaluation import metrics
from evaluation import results
from evaluation import results_table
from summaries import run_start

FIVE = ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']


def random_confusion(num_classes, images, seed=0, right=0.3):
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_classes, images)
  predicted = np.where(rng.random(images) < right, labels, rng.integers(0, num_classes, images))
  matrix = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(matrix, (labels, predicted), 1)
  return matrix


def long_names(num_classes):
  """Names as long as ImageNet's longest (~120 characters), some in other scripts."""
  return ['n%08d %s' % (i, ('tench, Tinca tinca, a freshwater fish of the carp family, '
                            'Löwenzahn, ひまわり, ' * 2)[:i % 130]) for i in range(num_classes)]


def a_result(matrix, class_names=None, step=70):
  matrix = np.asarray(matrix, np.int64)
  num_classes = matrix.shape[0]
  precision, recall, mean = metrics.class_metrics(matrix)
  return results.EvalResult(
      checkpoint='/runs/alexnet/model.ckpt-%d' % step, step=step,
      class_names=class_names or long_names(num_classes), confusion_matrix=matrix,
      accuracy=np.trace(matrix) / matrix.sum(), loss=6.1234, recall_at_k=0.4321,
      k=results.top_k(num_classes), precision=precision, recall=recall,
      mean_per_class_accuracy=mean)


def test_five_classes_keep_recall_at_2_and_their_per_class_scalars():
  result = a_result(np.diag([3, 4, 5, 6, 7]), FIVE)
  assert result.k == 2
  scalars = result.scalars()
  assert 'eval/recall_at_2' in scalars and run_start.TOP5_TAG not in scalars
  assert 'eval/recall/tulips' in scalars and 'eval/precision/daisy' in scalars
  assert 'recall_at_2' in result.to_json() and 'top5_accuracy' not in result.to_json()
  assert ', recall@2 0.432, ' in results_table.results_table(result).text().splitlines()[0]


@pytest.mark.parametrize('num_classes', [10, 300])
def test_ten_classes_or_more_report_top_5_accuracy(num_classes):
  result = a_result(random_confusion(num_classes, 500), ['c%d' % i for i in range(num_classes)])
  assert result.k == 5
  scalars = result.scalars()
  assert scalars[run_start.TOP5_TAG] == pytest.approx(0.4321)
  assert not [tag for tag in scalars if tag.startswith('eval/recall_at')]
  assert result.to_json()['top5_accuracy'] == 0.4321
  table = results_table.results_table(result)
  assert ', top-5 accuracy 0.432, ' in table.text().splitlines()[0]
  assert ', top-5 accuracy 0.432, ' in table.markdown().splitlines()[0]
  # The HParams metric the training run declared for this many classes.
  assert run_start.TOP5_TAG in [tag for _, tag, _ in run_start.metrics_of(num_classes)]


def declared_metrics(num_classes):
  """The metric tags of the HParams experiment a training run of num_classes writes."""
  summary = run_start.experiment_summary({'learning_rate': 0.01}, num_classes)
  data = plugin_data_pb2.HParamsPluginData.FromString(summary.value[0].metadata.plugin_data.content)
  return [m.name.tag for m in data.experiment.metric_infos]


def charted_tags(num_classes):
  """The tag regexes of the Custom Scalars layout a training run of num_classes writes."""
  summary = run_start.layout_summary(num_classes)
  layout = layout_pb2.Layout.FromString(tf.make_ndarray(summary.value[0].tensor).item())
  return [tag for chart in layout.category[0].chart for tag in chart.multiline.tag]


def test_ten_classes_or_more_declare_top_5_as_an_hparams_metric_and_chart_it():
  assert declared_metrics(10)[:2] == ['eval/accuracy', run_start.TOP5_TAG]
  assert run_start.TOP5_TAG in charted_tags(1000)[0]
  for num_classes in (9, 5, None):
    assert declared_metrics(num_classes) == [tag for _, tag, _ in run_start.METRICS]
    assert charted_tags(num_classes) == [tag for _, tag in run_start.CHARTS]
