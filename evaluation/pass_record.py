"""What one evaluation pass keeps of its images, and the views made of it: the calibration (PR
curves, reliability diagram, expected calibration error), the prediction grid and the embedding
projector.

A pass keeps a bounded record, whatever the size of the split: PassRecord.add takes each batch's
arrays and keeps
- the calibration's counts (calibration.PassCounts: per class and threshold, per confidence bin;
  nothing per image);
- the grid's images: the first grid_images mistakes and the first grid_images right answers, in
  pass order (the grid shows mistakes first);
- the projector's sample: at most embedding_size images, those whose hash of (seed, file name) is
  smallest. A file name hashes the same at every checkpoint, so the sample is the same images at
  every checkpoint of a split, whatever order the batches come in; the hash does not look at the
  class, so the classes come in proportion to their size.
What is kept is copied out of its batch (a view would hold on to the whole batch's arrays).
"""
import dataclasses
import hashlib
import heapq
import math
import typing

import numpy as np
import tensorflow as tf

import base
from evaluation import calibration
from evaluation import eval_config
from pictures import overlays
from pictures import photo_grids
from summaries import events
from summaries import projector

EMBEDDING_TENSOR = 'fc7'
METADATA_COLUMNS = ('true', 'predicted', 'correct', 'probability', 'probability_bin', 'filename')


class Prediction(typing.NamedTuple):
  label: int
  predicted: int
  probability: float          # softmax probability of the predicted class (the top-1)
  filename: object            # bytes (as read from the record) or str


def _as_bytes(filename):
  return filename if isinstance(filename, bytes) else str(filename).encode('utf-8')


def sample_key(seed, filename):
  """The projector keeps the images of the smallest keys: a 64-bit hash of (seed, file name)."""
  digest = hashlib.blake2b(b'%d\0' % seed + _as_bytes(filename), digest_size=8).digest()
  return int.from_bytes(digest, 'big')


@dataclasses.dataclass
class PassRecord:
  """What a pass keeps of its examples for the pictures, bounded (see the module's doc): at most
  2 * grid_images + embedding_size predictions and thumbnails, grid_images * 2 heat maps,
  embedding_size feature vectors. num_classes: count the calibration (None: no calibration)."""
  grid_images: int = 0
  embedding_size: int = 0
  seed: int = eval_config.EMBEDDING_SEED
  num_classes: typing.Optional[int] = None
  predictions: dict = dataclasses.field(default_factory=dict)  # index -> Prediction, kept images
  thumbnails: dict = dataclasses.field(default_factory=dict)   # index -> uint8 [T, T, 3], same
  heat: dict = dataclasses.field(default_factory=dict)         # index -> Grad-CAM [T, T], grid's
  features: dict = dataclasses.field(default_factory=dict)     # index -> fc7, the sample's
  grid: list = dataclasses.field(default_factory=list)         # the grid's indices, pass order
  calibration_counts: typing.Optional[calibration.PassCounts] = None
  fixed_photos: typing.Optional[dict] = None   # the evaluator's fetches of its fixed photos
  images: int = 0                              # images added; index = place in the pass
  # The sample as a heap of (-key, -index): its top is the image to leave first.
  _sample: list = dataclasses.field(default_factory=list, init=False, repr=False)
  _grid_kept: dict = dataclasses.field(default_factory=lambda: {True: 0, False: 0}, init=False,
                                       repr=False)

  def __post_init__(self):
    if self.num_classes and self.calibration_counts is None:
      self.calibration_counts = calibration.PassCounts(self.num_classes)

  def add(self, values):
    """Adds one batch: values holds 'labels', 'predictions', 'probabilities' [B, C],
    'filenames' and 'thumbnails', and may hold 'features' (the projector samples only then) and
    'heat' (Grad-CAM, kept for the grid's images)."""
    labels, predicted = values['labels'], values['predictions']
    if self.calibration_counts is not None:
      self.calibration_counts.add(labels, values['probabilities'])
    sampling = 'features' in values and self.embedding_size > 0
    for i in range(len(labels)):
      index = self.images + i
      label, guess = int(labels[i]), int(predicted[i])
      in_grid = self._grid_kept[label == guess] < self.grid_images
      filename = values['filenames'][i]
      entry = (-sample_key(self.seed, filename), -index) if sampling else None
      in_sample = entry is not None and (len(self._sample) < self.embedding_size
                                         or entry > self._sample[0])
      if not (in_grid or in_sample):
        continue
      self.predictions[index] = Prediction(label, guess,
                                           float(values['probabilities'][i][guess]), filename)
      self.thumbnails[index] = np.array(values['thumbnails'][i])
      if in_grid:
        self._grid_kept[label == guess] += 1
        self.grid.append(index)
        if 'heat' in values:
          self.heat[index] = np.array(values['heat'][i])
      if in_sample:
        self.features[index] = np.array(values['features'][i])
        if len(self._sample) < self.embedding_size:
          heapq.heappush(self._sample, entry)
        else:
          self._forget(-heapq.heapreplace(self._sample, entry)[1])
    self.images += len(labels)

  def _forget(self, index):
    """Drops an image that left the projector's sample (unless the grid has it)."""
    del self.features[index]
    if index not in self.grid:
      del self.predictions[index]
      del self.thumbnails[index]

  def sample(self):
    """The indices of the projector's sample, in pass order."""
    return sorted(self.features)


# --- the views -----------------------------------------------------------------------------------

def pr_curve_classes(recall, limit=base.LISTED_CLASSES):
  """The classes that get a PR curve: (worst, best) by recall. Up to limit classes: every class,
  as worst, in class order. More: base.worst_and_best of the classes with images (those of the
  lowest recall, those of the highest), so the summary's size does not grow with the classes."""
  if len(recall) <= limit:
    return list(range(len(recall))), []
  with_images = [c for c in range(len(recall)) if not math.isnan(recall[c])]
  worst, best, _ = base.worst_and_best(with_images, key=lambda c: recall[c], limit=limit)
  return worst, best


def calibration_values(result, record):
  """PR curves (every class up to base.LISTED_CLASSES, beyond the worst and best by recall),
  the reliability diagram and the expected calibration error, from the record's counts."""
  counts = record.calibration_counts
  if counts is None or not counts.num_examples:
    return []
  tags = events.class_tags(result.class_names)
  worst, best = pr_curve_classes(result.recall)
  if best:
    values = calibration.pr_curve_values(
        counts, result.class_names, tags, worst, calibration.PR_CURVE_DESCRIPTION +
        ' One of the %d classes of lowest recall at this step.' % len(worst))
    values += calibration.pr_curve_values(
        counts, result.class_names, tags, best, calibration.PR_CURVE_DESCRIPTION +
        ' One of the %d classes of highest recall at this step.' % len(best))
  else:
    values = calibration.pr_curve_values(counts, result.class_names, tags, worst)
  bins, ece = counts.reliability()
  return values + [
      tf.compat.v1.Summary.Value(tag='eval/expected_calibration_error', simple_value=ece),
      events.image_summary_value('eval/reliability',
                                 calibration.reliability_image(bins, ece, result.step))]


def prediction_grid(record, class_names, max_images, heat=False):
  """The grid's thumbnails captioned with true and predicted label, mistakes first; None when
  the pass kept none. heat: each thumbnail with its Grad-CAM laid over it (the images the
  record has heat for)."""
  kept = [i for i in record.grid if i in record.heat] if heat else list(record.grid)
  if not kept:
    return None
  rows = [record.predictions[i] for i in kept]
  thumbnails = [overlays.blend(record.thumbnails[i], record.heat[i]) if heat
                else record.thumbnails[i] for i in kept]
  predicted = [r.predicted for r in rows]
  # The grid reads each image's probability of its predicted class only.
  probabilities = np.zeros((len(rows), max([len(class_names)] + [p + 1 for p in predicted])))
  probabilities[np.arange(len(rows)), predicted] = [r.probability for r in rows]
  return photo_grids.prediction_grid(
      thumbnails, [r.label for r in rows], predicted, class_names, probabilities=probabilities,
      max_images=max_images)


def _text(value):
  return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)


def metadata_rows(record, class_names):
  """The projector's metadata of the sample, one dict of METADATA_COLUMNS per image: the true
  class first (the projector labels points by the first column that is not a number), the
  predicted class, correct (1 or 0), the probability of the predicted class, its reliability bin
  (e.g. '0.8-0.9') and the file name."""
  bin_names = calibration.confidence_bin_names()
  rows = []
  for i in record.sample():
    row = record.predictions[i]
    rows.append({'true': class_names[row.label], 'predicted': class_names[row.predicted],
                 'correct': int(row.label == row.predicted),
                 'probability': '%.3f' % row.probability,
                 'probability_bin': bin_names[calibration.confidence_bin(row.probability)],
                 'filename': _text(row.filename)})
  return rows


def write_embedding_projector(eval_dir, result, record):
  """The fc7 features of the pass's sample, with metadata (metadata_rows) and a sprite."""
  kept = record.sample()
  projector.write_projector(
      eval_dir, np.stack([record.features[i] for i in kept]),
      metadata_rows(record, result.class_names), [record.thumbnails[i] for i in kept],
      tensor_name=EMBEDDING_TENSOR, step=result.step, metadata_header=METADATA_COLUMNS)
