"""The table of one evaluation: built once from an EvalResult and rendered twice, as the log's
plain text and as Markdown for TensorBoard's text dashboard, so the two always show the same
numbers.

Up to base.LISTED_CLASSES classes it holds every class and the whole confusion matrix. Beyond,
its size does not depend on the number of classes: the worst and best classes by recall
(base.worst_and_best) with a line counting the rest, and instead of the matrix the most confused
pairs of classes (true -> predicted), names cut to NAME_WIDTH characters; it names the results
file that holds every class and the whole matrix (evaluation.results_file).
"""
import dataclasses
import math
import os
import typing

import base
from evaluation import results
from evaluation import results_file
from pictures import confusion
from summaries import events

NAME_WIDTH = 40  # characters of a class name in the table of many classes


def _format(value, digits=3):
  return '-' if math.isnan(value) else '%.*f' % (digits, value)


def _cut(name, width=NAME_WIDTH):
  return name if len(name) <= width else name[:width - 3] + '...'


def _sentence(text):
  return text[:1].upper() + text[1:]


class ClassRow(typing.NamedTuple):
  name: str
  precision: str   # formatted; '-' when undefined
  recall: str
  images: int


class PairRow(typing.NamedTuple):
  true: str        # the class of the images
  predicted: str   # the class they were taken for
  images: int
  share: str       # of the true class's images, formatted


@dataclasses.dataclass
class ResultsTable:
  """The results as text cells: a headline, one row per class, the confusion matrix; of many
  classes, the rows of the worst and best classes and the most confused pairs."""
  checkpoint: str        # the checkpoint's file name
  step: int
  num_examples: int
  split_name: str
  metrics: list          # [(label, formatted value)], e.g. ('accuracy', '0.800')
  classes: list          # [ClassRow], in class order; of many classes the listed ones
  confusion: list        # [[count]], rows true class, columns predicted, in class order; of
                         # many classes None (see pairs)
  num_classes: int = 0
  left_out: int = 0      # classes not in `classes`, whose line goes before classes[gap]
  gap: int = 0           # (the worst classes before it, the best after)
  without_images: int = 0
  pairs: list = ()       # [PairRow], most confused first
  num_pairs: int = 0     # confused pairs in all
  results_file: str = None   # the file of every number, relative to eval_dir
  eval_dir: str = None       # where the log says it is (None: relative)

  def _metrics_text(self):
    return ', '.join('%s %s' % metric for metric in self.metrics)

  def _file(self):
    return os.path.join(self.eval_dir or '', self.results_file or '')

  def _more_classes(self, in_file):
    more = '... %d more classes' % self.left_out
    if self.without_images:
      more += ' (%d of them without images)' % self.without_images
    return more + (' in %s' % in_file if self.results_file else '')

  def text(self):
    """Plain text for the log, columns aligned."""
    names = [row.name for row in self.classes]
    width = max([len(n) for n in names] + [5])
    lines = ['%s (step %d) on %d %s images: %s' % (self.checkpoint, self.step,
                                                   self.num_examples, self.split_name,
                                                   self._metrics_text())]
    if self.confusion is None:
      lines.append('  %s' % self._classes_caption())
    lines.append('  %-*s  precision  recall  images' % (width, 'class'))
    rows = ['  %-*s  %9s  %6s  %6d' % (width, *row) for row in self.classes]
    if self.confusion is None:
      rows.insert(self.gap, '  ' + self._more_classes(self._file()))
      return '\n'.join(lines + rows + self._pairs_text())
    lines += rows
    lines.append('  confusion matrix (rows: true class, columns: predicted)')
    cell = max([len(n) for n in names] + [len(str(v)) for row in self.confusion for v in row])
    lines.append('  %-*s  %s' % (width, '', '  '.join('%*s' % (cell, n) for n in names)))
    for name, counts in zip(names, self.confusion):
      lines.append('  %-*s  %s' % (width, name, '  '.join('%*d' % (cell, v) for v in counts)))
    return '\n'.join(lines)

  def _classes_caption(self):
    listed = len(self.classes)
    if listed == self.gap:
      return '%d of %d classes (those with images) by recall, lowest first' % (
          listed, self.num_classes)
    return '%d of %d classes by recall, lowest first: the %d worst and the %d best' % (
        listed, self.num_classes, self.gap, listed - self.gap)

  def _pairs_caption(self):
    if not self.pairs:
      return 'no class was taken for another'
    return ('most confused pairs of classes: %d of %d (true class -> predicted: images, share '
            'of the true class)' % (len(self.pairs), self.num_pairs))

  def _pairs_text(self):
    lines = ['  ' + self._pairs_caption()]
    true_width = max([len(p.true) for p in self.pairs] + [4])
    predicted_width = max([len(p.predicted) for p in self.pairs] + [9])
    if self.pairs:
      lines.append('  %-*s    %-*s  images  share' % (true_width, 'true', predicted_width,
                                                       'predicted'))
    lines += ['  %-*s -> %-*s  %6d  %5s' % (true_width, p.true, predicted_width, p.predicted,
                                             p.images, p.share) for p in self.pairs]
    return lines

  def markdown(self):
    """Markdown tables for TensorBoard's text dashboard."""
    names = [row.name for row in self.classes]
    lines = ['**%s** (step %d), %d images: %s' % (self.checkpoint, self.step, self.num_examples,
                                                  self._metrics_text())]
    if self.confusion is None:
      lines += ['', '%s. Every class and the whole confusion matrix: `%s` in this run\'s '
                'folder.' % (_sentence(self._classes_caption()), self.results_file)]
    lines += ['', '| class | precision | recall | images |', '|---|---|---|---|']
    rows = [events.markdown_row(*row) for row in self.classes]
    if self.confusion is None:
      rows.insert(self.gap, events.markdown_row(self._more_classes('`%s`' % self.results_file),
                                                '', '', ''))
      lines += rows + ['', _sentence(self._pairs_caption())]
      if self.pairs:
        lines += ['', '| true | predicted | images | share |', '|---|---|---|---|']
        lines += [events.markdown_row(*pair) for pair in self.pairs]
      return '\n'.join(lines)
    lines += rows
    lines += ['', 'Confusion matrix (rows: true class, columns: predicted)', '',
              events.markdown_row('true \\ predicted', *names),
              '|---|%s' % ('---|' * len(names))]
    for name, counts in zip(names, self.confusion):
      lines.append(events.markdown_row(name, *counts))
    return '\n'.join(lines)


def results_table(result, split_name='validation', eval_dir=None):
  """The ResultsTable of an EvalResult (split_name: for the headline). Of more than
  base.LISTED_CLASSES classes it names the result's results file: in eval_dir in the log
  (relative when None), in the run's folder in Markdown."""
  metrics = [('accuracy', _format(result.accuracy)), ('loss', _format(result.loss, 4)),
             (results.top_k_names(result.k)[2], _format(result.recall_at_k)),
             ('mean per-class accuracy', _format(result.mean_per_class_accuracy))]
  counts = result.confusion_matrix.sum(1)
  names = [str(name) for name in result.class_names]
  many = len(names) > base.LISTED_CLASSES

  def row(i):
    return ClassRow(_cut(names[i]) if many else names[i], _format(result.precision[i]),
                    _format(result.recall[i]), int(counts[i]))

  table = ResultsTable(checkpoint=os.path.basename(result.checkpoint), step=result.step,
                       num_examples=result.num_examples, split_name=split_name,
                       metrics=metrics, classes=[row(i) for i in range(len(names))],
                       confusion=[[int(v) for v in cells] for cells in result.confusion_matrix],
                       num_classes=len(names))
  if not many:
    return table
  recall = lambda i: (result.recall[i], i)
  worst, best, _ = base.worst_and_best([i for i in range(len(names)) if counts[i] > 0], recall)
  listed = sorted(worst, key=recall) + best[::-1]  # lowest recall first
  pairs = confusion.most_confused_pairs(result.confusion_matrix)
  return dataclasses.replace(
      table, classes=[row(i) for i in listed], confusion=None, gap=len(worst),
      left_out=len(names) - len(listed), without_images=int((counts == 0).sum()),
      pairs=[PairRow(_cut(names[t]), _cut(names[p]), n, _format(n / counts[t]))
             for t, p, n in pairs[:base.LISTED_CLASSES]],
      num_pairs=len(pairs), results_file=results_file.relative_path(result.step),
      eval_dir=eval_dir)
