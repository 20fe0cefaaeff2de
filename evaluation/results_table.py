"""The table of one evaluation: built once from an EvalResult and rendered twice, as the log's
plain text and as Markdown for TensorBoard's text dashboard, so the two always show the same
numbers."""
import dataclasses
import math
import os
import typing

from evaluation import results
from summaries import events


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
             (results.top_k_names(result.k)[2], _format(result.recall_at_k)),
             ('mean per-class accuracy', _format(result.mean_per_class_accuracy))]
  counts = result.confusion_matrix.sum(1)
  classes = [ClassRow(str(name), _format(result.precision[i]), _format(result.recall[i]),
                      int(counts[i])) for i, name in enumerate(result.class_names)]
  return ResultsTable(checkpoint=os.path.basename(result.checkpoint), step=result.step,
                      num_examples=result.num_examples, split_name=split_name,
                      metrics=metrics, classes=classes,
                      confusion=[[int(v) for v in row] for row in result.confusion_matrix])
