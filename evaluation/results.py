"""One evaluation's results and what is written of them into eval_dir.

EvalResult holds the numbers of one checkpoint's pass (evaluation.results_table makes its table,
evaluation.results_file the file of all its numbers). write_summaries puts the scalars, the
confusion-matrix heat map, the prediction grid (and its Grad-CAM twin), the fixed photos and the
table at the checkpoint's global step, with what the pass kept (evaluation.pass_record: the
calibration, the grid and the projector's sample).
"""
import dataclasses
import math
import os

import numpy as np
import tensorflow as tf

import base
from evaluation import pass_record
from pictures import charts
from pictures import confusion
from pictures import lettering
from pictures import overlays
from summaries import events
from summaries import run_start

EMBEDDING_TENSOR = 'fc7'
TOP5 = 5  # the k of the top-k accuracy with base.TOP5_CLASSES classes or more


def top_k(num_classes):
  """The k of the evaluation's top-k figure: 5 (AlexNet's papers' top-5 accuracy) with
  base.TOP5_CLASSES classes or more; below, 2 (recall@2: with 5 classes top-5 is always 1)."""
  return TOP5 if num_classes >= base.TOP5_CLASSES else min(2, num_classes)


def top_k_names(k):
  """(scalar tag, key in JSON, label in tables) of the top-k figure: top-5 accuracy at k = 5,
  recall@k below."""
  if k == TOP5:
    return run_start.TOP5_TAG, 'top5_accuracy', 'top-5 accuracy'
  return 'eval/recall_at_%d' % k, 'recall_at_%d' % k, 'recall@%d' % k


@dataclasses.dataclass
class EvalResult:
  checkpoint: str
  step: int
  class_names: list
  confusion_matrix: np.ndarray          # [C, C] int64, rows true, columns predicted
  accuracy: float
  loss: float
  recall_at_k: float                    # the top-k accuracy: images whose class is in the k
  k: int                                # highest scores (top_k)
  precision: np.ndarray                 # [C], NaN for a class never predicted
  recall: np.ndarray                    # [C], NaN for a class with no image
  mean_per_class_accuracy: float
  embedding_written: bool = False

  @property
  def num_examples(self):
    return int(self.confusion_matrix.sum())

  def scalars(self):
    """{summary tag: value}, NaN values left out. Precision and recall of every class up to
    base.LISTED_CLASSES classes; beyond, of none (they are in the results file)."""
    values = {'eval/accuracy': self.accuracy, 'eval/loss': self.loss,
              top_k_names(self.k)[0]: self.recall_at_k,
              'eval/mean_per_class_accuracy': self.mean_per_class_accuracy,
              'eval/num_examples': float(self.num_examples)}
    if len(self.class_names) <= base.LISTED_CLASSES:
      for tag, p, r in zip(events.class_tags(self.class_names), self.precision, self.recall):
        values['eval/precision/' + tag] = p
        values['eval/recall/' + tag] = r
    return {t: float(v) for t, v in values.items() if not math.isnan(v)}

  def to_json(self):
    def number(v):
      return None if math.isnan(v) else round(float(v), 6)
    return {'checkpoint': os.path.basename(self.checkpoint), 'step': self.step,
            'num_examples': self.num_examples, 'accuracy': number(self.accuracy),
            'loss': number(self.loss), top_k_names(self.k)[1]: number(self.recall_at_k),
            'mean_per_class_accuracy': number(self.mean_per_class_accuracy)}


# --- what is written of a pass -------------------------------------------------------------------

FIXED_PHOTOS_FAMILY = 'fixed_photos'


def write_summaries(writer, result, table, record, grid_images):
  """Scalars, the confusion matrix heat map, the prediction grid and its Grad-CAM twin (at most
  grid_images; 0: none), the fixed photos (when the record has them) and the Markdown table, at
  the checkpoint's global step."""
  values = [tf.compat.v1.Summary.Value(tag=tag, simple_value=v)
            for tag, v in sorted(result.scalars().items())]
  values.append(events.image_summary_value(
      'eval/confusion_matrix', confusion.confusion_matrix_image(
          result.confusion_matrix, result.class_names,
          title='Confusion matrix, step %d' % result.step)))
  values += pass_record.calibration_values(result, record)
  if grid_images:
    picture = pass_record.prediction_grid(record, result.class_names, grid_images)
    if picture is not None:
      values.append(events.image_summary_value('eval/predictions', picture))
    if record.heat:
      values.append(events.image_summary_value(
          'eval/gradcam', pass_record.prediction_grid(record, result.class_names, grid_images,
                                                      heat=True)))
  values += fixed_photo_values(record.fixed_photos, result.class_names)
  values.append(events.text_summary_value('eval/results', table.markdown()))
  writer.add_summary(tf.compat.v1.Summary(value=values), result.step)
  writer.flush()


def fixed_photo_values(fixed, class_names, overlay=overlays.overlay):
  """Image summary values of the fixed photos: per photo i, fixed_photos/i/gradcam (the
  predicted class's Grad-CAM, its name and probability, and the true class when it is another),
  fixed_photos/i/conv1 and .../conv5 (one tile per channel). fixed: the evaluator's fetches
  (None: no values). overlay(image, heat, caption, probability) draws the Grad-CAM picture."""
  if not fixed:
    return []
  values = []
  for i, probabilities in enumerate(fixed['probabilities']):
    top, label = int(np.argmax(probabilities)), int(fixed['labels'][i])
    names = lettering.class_name_list(class_names, max(len(probabilities), label + 1))
    caption = names[top] + ('' if top == label else ' (true: %s)' % names[label])
    tag = '%s/%d/' % (FIXED_PHOTOS_FAMILY, i)
    values.append(events.image_summary_value(tag + 'gradcam', overlay(
        fixed['images'][i], fixed['heat'][i], caption, probabilities[top])))
    for layer in ('conv1', 'conv5'):
      values.append(events.image_summary_value(
          tag + layer, charts.feature_map_grid(fixed[layer][i])))
  return values
