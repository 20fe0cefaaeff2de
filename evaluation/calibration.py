"""How sure the net is, and whether it should be: per-class precision-recall curves (TensorBoard's
PR Curves dashboard) and a reliability diagram with the expected calibration error.

All from one pass's predictions (label, softmax probabilities), in numpy.
"""
import numpy as np
import tensorflow as tf
from PIL import Image
from PIL import ImageDraw
from tensorboard.plugins.pr_curve import summary as pr_curve_summary

from pictures import lettering

NUM_THRESHOLDS = 51   # the PR Curves plugin's default resolution
NUM_BINS = 10         # confidence bins of the reliability diagram


def pr_counts(is_class, scores, num_thresholds=NUM_THRESHOLDS):
  """TP, FP, TN, FN, precision, recall at thresholds i / (num_thresholds - 1), as the PR Curves
  plugin wants them: an example counts as positive at a threshold when its score is >= it."""
  thresholds = np.linspace(0.0, 1.0, num_thresholds)
  predicted = scores[None, :] >= thresholds[:, None]            # [T, N]
  actual = np.asarray(is_class, bool)[None, :]
  tp = (predicted & actual).sum(1).astype(np.float64)
  fp = (predicted & ~actual).sum(1).astype(np.float64)
  fn = (~predicted & actual).sum(1).astype(np.float64)
  tn = (~predicted & ~actual).sum(1).astype(np.float64)
  precision = tp / np.maximum(tp + fp, 1.0)
  recall = tp / np.maximum(tp + fn, 1.0)
  return tp, fp, tn, fn, precision, recall


def _value(summary_pb, tag):
  """The one Summary.Value of a TensorBoard summary proto, as TensorFlow's proto, under `tag`
  (raw_data_pb appends '/pr_curves' to the name it is given)."""
  value = tf.compat.v1.Summary.FromString(summary_pb.SerializeToString()).value[0]
  value.tag = tag
  return value


def pr_curve_values(labels, probabilities, class_names, class_tags):
  """One 'eval/pr_curve/<class>' value per class: that class's probability as the score."""
  labels = np.asarray(labels)
  probabilities = np.asarray(probabilities, np.float64)
  values = []
  for index, (name, tag) in enumerate(zip(class_names, class_tags)):
    tp, fp, tn, fn, precision, recall = pr_counts(labels == index, probabilities[:, index])
    values.append(_value(pr_curve_summary.raw_data_pb(
        tag, tp, fp, tn, fn, precision, recall, num_thresholds=NUM_THRESHOLDS,
        display_name=str(name),
        description='One class against the others, its softmax probability as the score.'),
        'eval/pr_curve/' + tag))
  return values


def reliability(labels, probabilities, num_bins=NUM_BINS):
  """(per bin: [low, high, count, mean confidence, accuracy], expected calibration error).

  Confidence is the top probability; a bin's accuracy is how often the top class was right
  there. ECE = sum over bins of count / N * |accuracy - confidence| (Guo et al. 2017)."""
  probabilities = np.asarray(probabilities, np.float64)
  confidence = probabilities.max(1)
  correct = probabilities.argmax(1) == np.asarray(labels)
  edges = np.linspace(0.0, 1.0, num_bins + 1)
  which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, num_bins - 1)
  bins, ece = [], 0.0
  for b in range(num_bins):
    inside = which == b
    count = int(inside.sum())
    mean_confidence = float(confidence[inside].mean()) if count else float('nan')
    accuracy = float(correct[inside].mean()) if count else float('nan')
    if count:
      ece += count / len(confidence) * abs(accuracy - mean_confidence)
    bins.append((edges[b], edges[b + 1], count, mean_confidence, accuracy))
  return bins, ece


def reliability_image(bins, ece, step, size=320):
  """The reliability diagram: per confidence bin, a bar to its accuracy and the diagonal a
  calibrated net would follow; bars over the diagonal: less sure than right (under-confident)."""
  margin, top = 44, 40
  plot = size - margin - 12
  image = Image.new('RGB', (size, size + top), 'white')
  draw = ImageDraw.Draw(image)
  font = lettering.load_font(12)
  x0, y0 = margin, top + plot  # the plot's origin (bottom left)
  width = plot / len(bins)
  for i, (_, _, count, _, accuracy) in enumerate(bins):
    if count:
      height = accuracy * plot
      draw.rectangle([x0 + i * width + 1, y0 - height, x0 + (i + 1) * width - 1, y0],
                     fill=(70, 120, 200))
  draw.line([x0, y0, x0 + plot, y0 - plot], fill=(200, 60, 60), width=2)
  draw.rectangle([x0, y0 - plot, x0 + plot, y0], outline='black')
  for fraction in (0.0, 0.5, 1.0):
    draw.text((x0 + fraction * plot - 8, y0 + 4), '%.1f' % fraction, fill='black', font=font)
    draw.text((6, y0 - fraction * plot - 6), '%.1f' % fraction, fill='black', font=font)
  for row, line in enumerate(title_lines(step, ece)):
    draw.text((x0, 4 + 16 * row), line, fill='black', font=font)
  return np.asarray(image)


def title_lines(step, ece):
  """The diagram's title, in lines that fit over its plot (one line was clipped)."""
  return ['step %d: ECE %.3f' % (step, ece), 'x: confidence, y: accuracy']
