"""One evaluation's results and what is written of them into eval_dir.

EvalResult holds the numbers of one checkpoint's pass; ResultsTable is built from it once and
rendered twice, as the log's plain text and as Markdown for TensorBoard's text dashboard, so the
two always show the same numbers. write_summaries puts the scalars, the confusion-matrix heat map,
the prediction grid (and its Grad-CAM twin), the fixed photos and the table at the checkpoint's
global step, with what the pass kept (evaluation.pass_record: the calibration, the grid and the
projector's sample).
"""
import dataclasses
import math
import os
import typing

import numpy as np
import tensorflow as tf

from evaluation import pass_record
from pictures import charts
from pictures import lettering
from pictures import overlays
from summaries import events


@dataclasses.dataclass
class EvalResult:
  checkpoint: str
  step: int
  class_names: list
  confusion_matrix: np.ndarray          # [C, C] int64, rows true, columns predicted
  accuracy: float
  loss: float
  recall_at_k: float
  k: int
  precision: np.ndarray                 # [C], NaN for a class never predicted
  recall: np.ndarray                    # [C], NaN for a class with no image
  mean_per_class_accuracy: float
  embedding_written: bool = False

  @property
  def num_examples(self):
    return int(self.confusion_matrix.sum())

  def scalars(self):
    """{summary tag: value}, NaN values left out."""
    values = {'eval/accuracy': self.accuracy, 'eval/loss': self.loss,
              'eval/recall_at_%d' % self.k: self.recall_at_k,
              'eval/mean_per_class_accuracy': self.mean_per_class_accuracy,
              'eval/num_examples': float(self.num_examples)}
    for tag, p, r in zip(events.class_tags(self.class_names), self.precision, self.recall):
      values['eval/precision/' + tag] = p
      values['eval/recall/' + tag] = r
    return {t: float(v) for t, v in values.items() if not math.isnan(v)}

  def to_json(self):
    def number(v):
      return None if math.isnan(v) else round(float(v), 6)
    return {'checkpoint': os.path.basename(self.checkpoint), 'step': self.step,
            'num_examples': self.num_examples, 'accuracy': number(self.accuracy),
            'loss': number(self.loss), 'recall_at_%d' % self.k: number(self.recall_at_k),
            'mean_per_class_accuracy': number(self.mean_per_class_accuracy)}


# --- the results table ---------------------------------------------------------------------------

def _format(value, digits=3):
  return '-' if math.isnan(value) else '%.*f' % (digits, value)


class ClassRow(typing.NamedTuple):
  name: str
  precision: str   # formatted; '-' when undefined
  recall: str
  images: int


@dataclasses.dataclass
class ResultsTable:
  """The results as text cells: a headline, one row per class, the confusion matrix."""
  checkpoint: str        # the checkpoint's file name
  step: int
  num_examples: int
  split_name: str
  metrics: list          # [(label, formatted value)], e.g. ('accuracy', '0.800')
  classes: list          # [ClassRow]
  confusion: list        # [[count]], rows true class, columns predicted, in class order

  def _metrics_text(self):
    return ', '.join('%s %s' % metric for metric in self.metrics)

  def text(self):
    """Plain text for the log, columns aligned."""
    names = [row.name for row in self.classes]
    width = max([len(n) for n in names] + [5])
    lines = ['%s (step %d) on %d %s images: %s' % (self.checkpoint, self.step,
                                                   self.num_examples, self.split_name,
                                                   self._metrics_text()),
             '  %-*s  precision  recall  images' % (width, 'class')]
    lines += ['  %-*s  %9s  %6s  %6d' % (width, *row) for row in self.classes]
    lines.append('  confusion matrix (rows: true class, columns: predicted)')
    cell = max([len(n) for n in names] + [len(str(v)) for row in self.confusion for v in row])
    lines.append('  %-*s  %s' % (width, '', '  '.join('%*s' % (cell, n) for n in names)))
    for name, counts in zip(names, self.confusion):
      lines.append('  %-*s  %s' % (width, name, '  '.join('%*d' % (cell, v) for v in counts)))
    return '\n'.join(lines)

  def markdown(self):
    """Markdown tables for TensorBoard's text dashboard."""
    names = [row.name for row in self.classes]
    lines = ['**%s** (step %d), %d images: %s' % (self.checkpoint, self.step, self.num_examples,
                                                  self._metrics_text()),
             '', '| class | precision | recall | images |', '|---|---|---|---|']
    lines += [events.markdown_row(*row) for row in self.classes]
    lines += ['', 'Confusion matrix (rows: true class, columns: predicted)', '',
              events.markdown_row('true \\ predicted', *names),
              '|---|%s' % ('---|' * len(names))]
    for name, counts in zip(names, self.confusion):
      lines.append(events.markdown_row(name, *counts))
    return '\n'.join(lines)


def results_table(result, split_name='validation'):
  """The ResultsTable of an EvalResult (split_name: for the headline)."""
  metrics = [('accuracy', _format(result.accuracy)), ('loss', _format(result.loss, 4)),
             ('recall@%d' % result.k, _format(result.recall_at_k)),
             ('mean per-class accuracy', _format(result.mean_per_class_accuracy))]
  counts = result.confusion_matrix.sum(1)
  classes = [ClassRow(str(name), _format(result.precision[i]), _format(result.recall[i]),
                      int(counts[i])) for i, name in enumerate(result.class_names)]
  return ResultsTable(checkpoint=os.path.basename(result.checkpoint), step=result.step,
                      num_examples=result.num_examples, split_name=split_name,
                      metrics=metrics, classes=classes,
                      confusion=[[int(v) for v in row] for row in result.confusion_matrix])


# --- what is written of a pass -------------------------------------------------------------------

FIXED_PHOTOS_FAMILY = 'fixed_photos'


def write_summaries(writer, result, table, record, grid_images):
  """Scalars, the confusion matrix heat map, the prediction grid and its Grad-CAM twin (at most
  grid_images; 0: none), the fixed photos (when the record has them) and the Markdown table, at
  the checkpoint's global step."""
  values = [tf.compat.v1.Summary.Value(tag=tag, simple_value=v)
            for tag, v in sorted(result.scalars().items())]
  values.append(events.image_summary_value(
      'eval/confusion_matrix', charts.confusion_matrix_image(
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
