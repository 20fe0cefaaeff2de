"""How sure the net is, and whether it should be: per-class precision-recall curves (TensorBoard's
PR Curves dashboard) and a reliability diagram with the expected calibration error.

PassCounts adds up what both need batch by batch (per class, how many images reach each threshold;
per confidence bin, a count and exact sums), so a pass keeps a few arrays of the class count's size
and nothing per image; pr_counts and reliability are the same numbers from all the predictions at
once. In numpy.
"""
import math

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


PR_CURVE_DESCRIPTION = 'One class against the others, its softmax probability as the score.'


def pr_curve_values(counts, class_names, class_tags, classes=None,
                    description=PR_CURVE_DESCRIPTION):
  """One 'eval/pr_curve/<class>' value per class of `classes` (class ids; default every class),
  that class's probability as the score. counts: the pass's PassCounts."""
  values = []
  for index in range(len(class_names)) if classes is None else classes:
    tp, fp, tn, fn, precision, recall = counts.pr_counts(index)
    values.append(_value(pr_curve_summary.raw_data_pb(
        class_tags[index], tp, fp, tn, fn, precision, recall, num_thresholds=NUM_THRESHOLDS,
        display_name=str(class_names[index]), description=description),
        'eval/pr_curve/' + class_tags[index]))
  return values


def reliability(labels, probabilities, num_bins=NUM_BINS):
  """(per bin: [low, high, count, mean confidence, accuracy], expected calibration error).

  Confidence is the top probability; a bin's accuracy is how often the top class was right
  there. ECE = sum over bins of count / N * |accuracy - confidence| (Guo et al. 2017)."""
  confidence, correct, which = _confidence_bins(labels, probabilities, num_bins)
  counts = [int(c) for c in np.bincount(which, minlength=num_bins)]
  rights = [int(c) for c in np.bincount(which[correct], minlength=num_bins)]
  sums = [math.fsum(confidence[which == b]) for b in range(num_bins)]
  return _bins_and_ece(counts, rights, sums)


def _confidence_bins(labels, probabilities, num_bins):
  """(confidence, correct, bin) per example: the top probability, whether the top class is the
  label, and the bin of the confidence (bin b holds (b / num_bins, (b + 1) / num_bins], bin 0
  also 0)."""
  probabilities = np.asarray(probabilities, np.float64)
  confidence = probabilities.max(1)
  correct = probabilities.argmax(1) == np.asarray(labels)
  edges = np.linspace(0.0, 1.0, num_bins + 1)
  which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, num_bins - 1)
  return confidence, correct, which


def confidence_bin_names(num_bins=NUM_BINS):
  """The bins' names, e.g. '0.9-1.0', in the order of reliability's bins."""
  edges = np.linspace(0.0, 1.0, num_bins + 1)
  return ['%.1f-%.1f' % (edges[b], edges[b + 1]) for b in range(num_bins)]


def confidence_bin(probability, num_bins=NUM_BINS):
  """The reliability bin a top probability falls in (its index in confidence_bin_names)."""
  return int(_confidence_bins([0], [[probability]], num_bins)[2][0])


def _bins_and_ece(counts, rights, sums):
  """reliability's (bins, ECE) from each bin's count, right answers and exact confidence sum
  (math.fsum: correctly rounded, so the same whatever order the examples came in)."""
  num_bins = len(counts)
  edges = np.linspace(0.0, 1.0, num_bins + 1)
  total = sum(counts)
  bins, ece = [], 0.0
  for b in range(num_bins):
    count = counts[b]
    mean_confidence = sums[b] / count if count else float('nan')
    accuracy = rights[b] / count if count else float('nan')
    if count:
      ece += count / total * abs(accuracy - mean_confidence)
    bins.append((edges[b], edges[b + 1], count, mean_confidence, accuracy))
  return bins, ece


def _add_exactly(partials, values):
  """Adds values to partials, a list of floats whose exact sum is the running total (Shewchuk's
  non-overlapping partials, as in math.fsum): math.fsum(partials) is the correctly rounded sum
  of everything added, in any order. The list stays short (a few floats)."""
  for x in values:
    x = float(x)
    kept = 0
    for y in partials:
      if abs(x) < abs(y):
        x, y = y, x
      high = x + y
      low = y - (high - x)
      if low:
        partials[kept] = low
        kept += 1
      x = high
    partials[kept:] = [x]
  return partials


class PassCounts:
  """What the PR curves and the reliability diagram need of a pass, added batch by batch (add):
  per class, how many of its images and of the others reach each PR threshold; per confidence
  bin, the images, the right answers and the exact sum of their confidence. Its size depends on
  the class count, never on the number of images; its numbers equal pr_counts' and
  reliability's of all the predictions at once, exactly, whatever the batches."""

  def __init__(self, num_classes, num_thresholds=NUM_THRESHOLDS, num_bins=NUM_BINS):
    self.num_classes = num_classes
    self.thresholds = np.linspace(0.0, 1.0, num_thresholds)
    # [C, T + 1]: images whose score for the class reaches exactly k thresholds (k = 0..T), of
    # that class (positive) and of any class (scored).
    self._positive = np.zeros((num_classes, num_thresholds + 1), np.int64)
    self._scored = np.zeros((num_classes, num_thresholds + 1), np.int64)
    self._bin_counts = [0] * num_bins
    self._bin_rights = [0] * num_bins
    self._bin_sums = [[] for _ in range(num_bins)]
    self.num_examples = 0

  def add(self, labels, probabilities):
    """Counts one batch: labels [B] (class ids), probabilities [B, C] (softmax)."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    probabilities = np.asarray(probabilities, np.float64).reshape(len(labels), -1)
    if not len(labels):
      return
    width = len(self.thresholds) + 1
    # How many thresholds each score reaches: an image is positive at threshold t when its score
    # is >= it, so at the thresholds below that count.
    reached = np.searchsorted(self.thresholds, probabilities, side='right')
    cells = np.arange(self.num_classes) * width + reached
    self._scored += np.bincount(cells.ravel(), minlength=self._scored.size).reshape(
        self._scored.shape)
    own = cells[np.arange(len(labels)), labels]
    self._positive += np.bincount(own, minlength=self._positive.size).reshape(
        self._positive.shape)
    confidence, correct, which = _confidence_bins(labels, probabilities, len(self._bin_counts))
    for b in np.unique(which):
      inside = which == b
      self._bin_counts[b] += int(inside.sum())
      self._bin_rights[b] += int(correct[inside].sum())
      _add_exactly(self._bin_sums[b], confidence[inside])
    self.num_examples += len(labels)

  def pr_counts(self, index):
    """pr_counts of class `index` against the others: TP, FP, TN, FN, precision, recall at each
    threshold."""
    def reaching(histogram):  # images reaching threshold t: those reaching more than t of them
      return np.cumsum(histogram[::-1])[::-1][1:].astype(np.float64)
    tp = reaching(self._positive[index])
    fp = reaching(self._scored[index]) - tp
    positives = float(self._positive[index].sum())
    fn = positives - tp
    tn = (self.num_examples - positives) - fp
    precision = tp / np.maximum(tp + fp, 1.0)
    recall = tp / np.maximum(tp + fn, 1.0)
    return tp, fp, tn, fn, precision, recall

  def reliability(self):
    """reliability's (bins, expected calibration error) of everything added."""
    return _bins_and_ece(list(self._bin_counts), list(self._bin_rights),
                         [math.fsum(partials) for partials in self._bin_sums])


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
