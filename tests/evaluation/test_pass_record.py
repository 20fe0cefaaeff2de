"""evaluation.pass_record: what a pass keeps of its images is bounded whatever the split's size
(the calibration's counts, the grid's images, a seeded sample for the projector), and the views
made of it stay bounded whatever the number of classes."""
import types

import numpy as np
import pytest

from base import LISTED_CLASSES
from evaluation import calibration
from evaluation import pass_record


def batches(num_images, num_classes, batch_size=50, seed=0, order=None, features=True):
  """A pass's fetches as the evaluator's hook gets them: every third image a mistake, small
  thumbnails and features, Grad-CAM for every image; order: the images' order (default 0..N-1)."""
  rng = np.random.default_rng(seed)
  labels = np.arange(num_images) % num_classes
  predicted = np.where(np.arange(num_images) % 3 == 0, (labels + 1) % num_classes, labels)
  probabilities = rng.dirichlet(np.ones(num_classes), num_images).astype(np.float32)
  probabilities[np.arange(num_images), predicted] += 1.0
  probabilities /= probabilities.sum(1, keepdims=True)
  order = np.arange(num_images) if order is None else np.asarray(order)
  for start in range(0, num_images, batch_size):
    taken = order[start:start + batch_size]
    values = {'labels': labels[taken], 'predictions': predicted[taken],
              'probabilities': probabilities[taken],
              'filenames': np.array([b'class_%d/photo_%05d.jpg' % (labels[i], i) for i in taken]),
              'thumbnails': np.full((len(taken), 8, 8, 3), 7, np.uint8),
              'heat': np.zeros((len(taken), 8, 8), np.float32)}
    if features:
      values['features'] = rng.normal(size=(len(taken), 16)).astype(np.float32)
    yield values


def a_pass(num_images, num_classes=10, grid_images=4, embedding_size=64, seed=0, **options):
  record = pass_record.PassRecord(grid_images=grid_images, embedding_size=embedding_size,
                                  seed=seed, num_classes=num_classes)
  for values in batches(num_images, num_classes, **options):
    record.add(values)
  return record


def held(record):
  """What the record holds per image, and the size of its counts."""
  counts = record.calibration_counts
  return {'predictions': len(record.predictions), 'thumbnails': len(record.thumbnails),
          'heat': len(record.heat), 'features': len(record.features), 'grid': len(record.grid),
          'counts': counts._scored.nbytes + counts._positive.nbytes}


def sampled_files(record):
  return [record.predictions[i].filename for i in record.sample()]


def test_a_pass_keeps_the_same_bounded_record_whatever_the_number_of_images():
  small, large = a_pass(500), a_pass(5000)
  assert large.images == 5000 and large.calibration_counts.num_examples == 5000
  assert held(small) == held(large)
  bounds = held(large)
  assert bounds['features'] == 64 and bounds['grid'] == bounds['heat'] == 2 * 4
  assert 64 <= bounds['thumbnails'] == bounds['predictions'] <= 64 + 2 * 4
  # Nothing kept is a view of its batch (which would keep every batch's arrays alive).
  for kept in (large.thumbnails, large.features, large.heat):
    assert all(array.base is None for array in kept.values())


def test_the_sample_is_the_same_images_whatever_the_order_and_size_of_the_batches():
  shuffled = np.random.default_rng(1).permutation(3000)
  first = sampled_files(a_pass(3000))
  again = sampled_files(a_pass(3000, order=shuffled, batch_size=7))
  assert sorted(first) == sorted(again) and len(first) == 64
  # The images of the smallest hash of (seed, file name); another seed, other images.
  names = [b'class_%d/photo_%05d.jpg' % (i % 10, i) for i in range(3000)]
  assert sorted(first) == sorted(sorted(names, key=lambda n: pass_record.sample_key(0, n))[:64])
  assert len(set(first) & set(sampled_files(a_pass(3000, seed=1)))) < 32


def test_a_split_smaller_than_the_sample_is_embedded_whole_in_pass_order():
  record = a_pass(40, embedding_size=64)
  assert record.sample() == list(range(40))
  assert a_pass(40, embedding_size=0).features == {}
  assert a_pass(40, features=False).features == {}  # (no projector at this checkpoint)


def test_the_grid_keeps_the_first_mistakes_and_right_answers_of_the_pass():
  record = a_pass(300, grid_images=3)
  # Every third image (0, 3, 6, ...) is a mistake.
  assert record.grid == [0, 1, 2, 3, 4, 6]
  picture = pass_record.prediction_grid(record, ['c%d' % i for i in range(10)], 3)
  assert picture.ndim == 3 and picture.shape[2] == 3
  assert pass_record.prediction_grid(a_pass(30, grid_images=0), ['c'] * 10, 3) is None


def a_result(recall, step=3):
  names = ['class %d' % i for i in range(len(recall))]
  return types.SimpleNamespace(class_names=names, recall=np.asarray(recall, float), step=step)


def pr_curve_tags(values):
  return [v.tag for v in values if v.tag.startswith('eval/pr_curve/')]


@pytest.mark.parametrize('num_classes', [5, LISTED_CLASSES, 300])
def test_pr_curves_every_class_up_to_the_listed_classes_beyond_the_worst_and_best(num_classes):
  record = a_pass(2 * num_classes, num_classes=num_classes)
  recall = np.linspace(0.0, 1.0, num_classes)[::-1].copy()  # the last classes the worst
  recall[-1] = np.nan                                       # (one without images: no curve)
  values = pass_record.calibration_values(a_result(recall), record)
  tags = pr_curve_tags(values)
  if num_classes <= LISTED_CLASSES:
    assert tags == ['eval/pr_curve/class_%d' % i for i in range(num_classes)]
  else:
    half = LISTED_CLASSES // 2
    worst = ['eval/pr_curve/class_%d' % i for i in range(num_classes - 2, num_classes - 2 - half,
                                                         -1)]
    best = ['eval/pr_curve/class_%d' % i for i in range(half)]
    assert tags == worst + best
  assert {'eval/reliability', 'eval/expected_calibration_error'} <= {v.tag for v in values}


def test_the_calibration_summary_does_not_grow_with_the_classes():
  def size(num_classes):
    record = a_pass(1000, num_classes=num_classes)
    values = pass_record.calibration_values(a_result(np.linspace(0, 1, num_classes)), record)
    return sum(len(v.SerializeToString()) for v in values)
  assert size(1000) < 1.1 * size(100)
  assert size(1000) < 256 * 1024


def test_the_projector_metadata_puts_the_true_class_first():
  record = a_pass(30, num_classes=3, embedding_size=4)
  rows = pass_record.metadata_rows(record, ['daisy', 'roses', 'tulips'])
  assert len(rows) == 4 and list(rows[0]) == list(pass_record.METADATA_COLUMNS)
  assert list(pass_record.METADATA_COLUMNS)[:3] == ['true', 'predicted', 'correct']
  bins = calibration.confidence_bin_names()
  for i, row in zip(record.sample(), rows):
    kept = record.predictions[i]
    assert row['true'] == ['daisy', 'roses', 'tulips'][kept.label]
    assert row['correct'] == int(kept.label == kept.predicted)
    assert float(row['probability']) == pytest.approx(kept.probability, abs=5e-4)
    low, high = (float(x) for x in row['probability_bin'].split('-'))
    assert row['probability_bin'] in bins and low <= kept.probability <= high
    assert row['filename'] == kept.filename.decode()


def test_past_50_classes_the_metadata_still_has_columns_the_projector_colours_by():
  # TensorBoard's projector colours by a column of text with at most 50 distinct values.
  record = a_pass(3000, num_classes=1000, embedding_size=500)
  rows = pass_record.metadata_rows(record, ['class %d' % i for i in range(1000)])
  distinct = {column: len({row[column] for row in rows}) for column in rows[0]}
  assert distinct['true'] > 50
  assert distinct['correct'] == 2 and distinct['probability_bin'] <= 10
