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
  writer.add_summary(tf.compat.v1.Summary(value=calibration.pr_curve_values(
      labels, probabilities, names, events.class_tags(names))), 5)
  writer.close()
  with tb_server.tensorboard(tmp_path) as tb:
    tags = tb.wait_for(lambda: tb.tags('pr_curves').get('eval'))
    assert tags == sorted('eval/pr_curve/' + t for t in events.class_tags(names))
    curve = tb.get_json('/data/plugin/pr_curves/pr_curves', run='eval',
                        tag='eval/pr_curve/daisy')['eval'][0]
    assert curve['step'] == 5 and max(curve['precision']) == 1.0
