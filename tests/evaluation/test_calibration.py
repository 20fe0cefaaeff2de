"""How sure the net is: PR curves per class and the reliability diagram, checked on numbers
worked out by hand and through a real TensorBoard's PR Curves dashboard."""
import numpy as np
import pytest
import tensorflow as tf

from evaluation import calibration
from pictures import lettering
from summaries import events
from support import tb_server


def test_pr_counts_at_thresholds():
  is_class = np.array([True, True, False, False])
  scores = np.array([0.9, 0.4, 0.6, 0.1])
  tp, fp, tn, fn, precision, recall = calibration.pr_counts(is_class, scores, num_thresholds=3)
  # thresholds 0, 0.5, 1: all positive; {0.9, 0.6} positive; none positive
  np.testing.assert_array_equal(tp, [2, 1, 0])
  np.testing.assert_array_equal(fp, [2, 1, 0])
  np.testing.assert_array_equal(tn, [0, 1, 2])
  np.testing.assert_array_equal(fn, [0, 1, 2])
  np.testing.assert_allclose(precision, [0.5, 0.5, 0.0])
  np.testing.assert_allclose(recall, [1.0, 0.5, 0.0])


def random_pass(seed, num_examples, num_classes):
  """Labels and float32 softmax probabilities as a net gives them, some of them exactly on a PR
  threshold or a bin edge (where >= and <= decide)."""
  rng = np.random.default_rng(seed)
  logits = rng.normal(0.0, 2.0, (num_examples, num_classes))
  probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  probabilities[:20] = 0.0
  probabilities[:20, 0] = 0.5          # a threshold and the edge of a bin
  probabilities[:20, 1] = 0.3
  probabilities[:20, 2] = 0.2
  return rng.integers(0, num_classes, num_examples), probabilities.astype(np.float32)


def streamed(labels, probabilities, batch_sizes, order):
  counts = calibration.PassCounts(probabilities.shape[1])
  start = 0
  for size in batch_sizes:
    taken = order[start:start + size]
    counts.add(labels[taken], probabilities[taken])
    start += size
  assert start == len(labels)
  return counts


@pytest.mark.parametrize('batch_sizes, shuffle', [([500], False), ([50] * 10, False),
                                                  ([1, 7, 92, 300, 100], True)])
def test_counts_added_batch_by_batch_equal_those_of_all_predictions_at_once(batch_sizes,
                                                                           shuffle):
  labels, probabilities = random_pass(3, 500, 7)
  order = np.random.default_rng(4).permutation(500) if shuffle else np.arange(500)
  counts = streamed(labels, probabilities, batch_sizes, order)
  assert counts.num_examples == 500
  for index in range(7):
    at_once = calibration.pr_counts(labels == index, probabilities[:, index].astype(np.float64))
    for name, mine, theirs in zip('tp fp tn fn precision recall'.split(),
                                  counts.pr_counts(index), at_once):
      np.testing.assert_array_equal(mine, theirs, err_msg='%s of class %d' % (name, index))
  bins, ece = counts.reliability()
  bins_at_once, ece_at_once = calibration.reliability(labels, probabilities)
  assert ece == ece_at_once  # exactly: exact sums do not depend on the order of the batches
  np.testing.assert_array_equal(np.array(bins), np.array(bins_at_once))
  assert sum(b[2] for b in bins) == 500 and any(b[2] == 0 for b in bins)


def test_counts_keep_nothing_per_image():
  labels, probabilities = random_pass(5, 2000, 7)
  small = streamed(labels[:100], probabilities[:100], [100], np.arange(100))
  large = streamed(labels, probabilities, [50] * 40, np.arange(2000))
  def sizes(counts):
    return sorted((name, getattr(value, 'nbytes', None) or len(value))
                  for name, value in vars(counts).items() if not isinstance(value, int))
  assert sizes(small) == sizes(large)
  assert all(len(partials) < 40 for partials in large._bin_sums)


def test_a_calibrated_net_has_no_calibration_error_and_an_overconfident_one_has():
  # Confidence 0.75 and right 3 times out of 4: calibrated.
  calibrated = np.array([[0.75, 0.25]] * 4)
  bins, ece = calibration.reliability([0, 0, 0, 1], calibrated)
  assert ece == pytest.approx(0.0)
  assert [b[2] for b in bins if b[2]] == [4]
  # Confidence 0.95 and right half the time: ECE 0.45.
  overconfident = np.array([[0.95, 0.05]] * 4)
  _, ece = calibration.reliability([0, 1, 0, 1], overconfident)
  assert ece == pytest.approx(0.45)


def test_reliability_diagram_draws_bars_up_to_the_accuracy():
  bins, ece = calibration.reliability([0, 0, 0, 1], np.array([[0.75, 0.25]] * 4))
  picture = calibration.reliability_image(bins, ece, step=7)
  blue = (picture[..., 2] > 150) & (picture[..., 0] < 120)
  rows = np.nonzero(blue.any(1))[0]
  plot_bottom = rows.max()
  height = plot_bottom - rows.min() + 1
  assert height / (320 - 44 - 12) == pytest.approx(0.75, abs=0.02)


def test_the_diagram_s_title_fits_over_its_plot():
  font = lettering.load_font(12)
  for line in calibration.title_lines(1000000, 0.123):
    assert lettering.text_width(font, line) <= 320 - 44, line


@pytest.mark.slow
def test_tensorboard_lists_one_pr_curve_per_class(tmp_path):
  names = ['daisy', 'Löwenzahn', 'roses']
  labels = np.array([0, 1, 2, 0, 1, 2])
  probabilities = np.eye(3)[labels] * 0.7 + 0.1
  writer = events.make_writer(str(tmp_path / 'eval'))
  counts = calibration.PassCounts(3)
  counts.add(labels, probabilities)
  writer.add_summary(tf.compat.v1.Summary(value=calibration.pr_curve_values(
      counts, names, events.class_tags(names))), 5)
  writer.close()
  with tb_server.tensorboard(tmp_path) as tb:
    tags = tb.wait_for(lambda: tb.tags('pr_curves').get('eval'))
    assert tags == sorted('eval/pr_curve/' + t for t in events.class_tags(names))
    curve = tb.get_json('/data/plugin/pr_curves/pr_curves', run='eval',
                        tag='eval/pr_curve/daisy')['eval'][0]
    assert curve['step'] == 5 and max(curve['precision']) == 1.0
