"""The results of many classes (issue: 1,000 classes): a table, a text card and scalars whose size
does not grow with the number of classes, and top-5 accuracy from 10 classes on; at 5 classes
everything as before."""
import re

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2

import base
from evaluation import metrics
from evaluation import results
from evaluation import results_table
from summaries import run_start
from support.eval_helpers import random_confusion

FIVE = ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']


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


@pytest.mark.parametrize('num_classes', [21, 300, 1000])
def test_the_table_of_many_classes_is_bounded_in_lines_width_and_bytes(num_classes):
  result = a_result(random_confusion(num_classes, 1000))
  table = results_table.results_table(result, 'validation', eval_dir='runs/alexnet/eval')
  lines = table.text().splitlines()
  assert len(lines) <= 2 * base.LISTED_CLASSES + 10
  assert max(len(line) for line in lines) <= 400
  assert len(table.markdown().encode('utf-8')) < 8 * 1024
  listed = [row for row in table.classes]
  assert len(listed) == base.LISTED_CLASSES
  assert all(len(row.name) <= results_table.NAME_WIDTH for row in listed)
  assert all(len(p.true) <= results_table.NAME_WIDTH for p in table.pairs)


def test_the_table_lists_the_worst_and_best_classes_and_points_to_the_file():
  matrix = np.diag(np.arange(1, 301) % 7 + 1)
  matrix[5, 6] = 50          # class 5: recall 7/57, the worst
  matrix[9, 3] = 4           # class 9: 4/8
  matrix[17, 17] = 0         # class 17: no image
  table = results_table.results_table(a_result(matrix, ['c%d' % i for i in range(300)],
                                               step=680), eval_dir='runs/a/eval')
  text = table.text()
  names = [row.name for row in table.classes]
  assert names[:2] == ['c5', 'c9']
  recall = [float(row.recall) for row in table.classes]
  assert recall == sorted(recall)
  assert ('  ... 280 more classes (1 of them without images) in runs/a/eval/results/step-680.json'
          in text.splitlines())
  assert 'c17' not in names
  pairs = re.findall(r'\n  (c\d+) +-> (c\d+) +(\d+) +([\d.]+)', text)
  assert pairs == [('c5', 'c6', '50', '0.877'), ('c9', 'c3', '4', '0.500')]
  markdown = table.markdown()
  assert '`results/step-680.json`' in markdown and 'runs/a' not in markdown
  assert '| c5 | c6 | 50 | 0.877 |' in markdown
  assert '| ... 280 more classes (1 of them without images) in `results/step-680.json` |' in (
      markdown)


def test_text_and_markdown_of_many_classes_show_the_same_numbers():
  table = results_table.results_table(a_result(random_confusion(200, 900, seed=4),
                                               ['k%d' % i for i in range(200)]))
  numbers = lambda text: re.findall(r'(?<![\w.])\d+(?:\.\d+)?(?![\w.])', text)
  text = '\n'.join(line for line in table.text().splitlines() if 'precision' not in line)
  assert numbers(text) == numbers(table.markdown())


def test_up_to_the_listed_classes_the_table_holds_every_class_and_the_matrix():
  matrix = random_confusion(base.LISTED_CLASSES, 400)
  table = results_table.results_table(a_result(matrix, ['c%d' % i for i in range(20)]))
  assert len(table.classes) == 20 and table.confusion == matrix.tolist()
  assert 'more classes' not in table.text() and 'results/' not in table.markdown()


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


def test_per_class_scalars_stop_beyond_the_listed_classes():
  for num_classes, per_class in ((base.LISTED_CLASSES, 2 * base.LISTED_CLASSES),
                                 (base.LISTED_CLASSES + 1, 0), (1000, 0)):
    scalars = a_result(np.eye(num_classes, dtype=np.int64) * 2).scalars()
    assert len([t for t in scalars if t.startswith(('eval/precision/', 'eval/recall/'))]) == (
        per_class)


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
