"""What a prediction prints and writes: the aligned top-k table, the CSV or JSON-lines file with
every class's probability, and the list of skipped photos with their reasons.

A photo's name may hold any character but '/' and NUL: in the table and the skipped list (lines
of text) its control characters are escaped as repr does (printable), so a name with a newline
stays one row; the CSV (quoted by the csv module) and JSON lines (escaped by json) hold the name
itself."""
import contextlib
import csv
import json
import os
import re

import numpy as np

import base
from base import UserError

OUTPUT_FORMATS = {'.csv': 'csv', '.jsonl': 'jsonl', '.json': 'jsonl', '.ndjson': 'jsonl'}


def output_format(path):
  """'csv' or 'jsonl' from the output file's extension; UserError for another."""
  extension = os.path.splitext(path)[1].lower()
  if extension not in OUTPUT_FORMATS:
    raise UserError('--output=%s: use a .csv file, or .jsonl (.json) for JSON lines' % path)
  return OUTPUT_FORMATS[extension]


def shown(path):
  """A path as text: bytes of the file name that are not UTF-8 (which Python keeps as lone
  surrogates, which no text file or terminal takes) become U+FFFD."""
  return path.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


# What breaks or hides a line of text: control characters (a newline, a tab, an escape) and the
# line and paragraph separators.
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029]')


def printable(path):
  """A path for one line of text: shown(path), each control character escaped as repr does
  ('\\n', '\\t', '\\x1b', '\\u2028')."""
  return _CONTROL.sub(lambda match: repr(match.group())[1:-1], shown(path))


def top_classes(probabilities, k):
  """[(class id, probability)] of the k most probable classes, most probable first (ties: the
  lower id first, as argmax)."""
  order = np.argsort(-np.asarray(probabilities), kind='stable')[:k]
  return [(int(c), float(probabilities[c])) for c in order]


class Table:
  """One row per photo: its path and its top-k classes with probabilities, in aligned columns
  sized for every path and class name known in advance."""

  def __init__(self, class_names, top_k, paths):
    self.class_names = [printable(name) for name in class_names]  # (a --labels_file's tab)
    self.k = min(top_k, len(class_names))
    self._path_width = max([len('photo')] + [len(printable(p)) for p in paths])
    self._name_width = max(len(n) for n in self.class_names)

  def _cell_width(self):
    return self._name_width + len('  100.0%')

  def header(self):
    cells = ['top %d' % (i + 1) for i in range(self.k)]
    return '  '.join(['photo'.ljust(self._path_width)]
                     + [c.ljust(self._cell_width()) for c in cells]).rstrip()

  def row(self, path, probabilities):
    cells = ['%s  %5.1f%%' % (self.class_names[c].ljust(self._name_width), 100.0 * p)
             for c, p in top_classes(probabilities, self.k)]
    return '  '.join([printable(path).ljust(self._path_width)] + cells).rstrip()


def skipped_lines(skipped, total):
  """'Skipped 2 of 10 photos:' and one '  path: reason' line each."""
  if not skipped:
    return []
  lines = ['Skipped %d of %d photo%s:' % (len(skipped), total, '' if total == 1 else 's')]
  return lines + ['  %s: %s' % (printable(path), reason) for path, reason in skipped]


class OutputFile:
  """Rows written as photos are classified, into a temporary file renamed to the output path
  when the prediction ends normally (so a half-written file is never left under its name)."""

  def __init__(self, stream, kind, class_names):
    self._stream = stream
    self._kind = kind
    self._names = class_names
    self._csv = None
    if kind == 'csv':
      self._csv = csv.writer(stream)
      self._csv.writerow(['path', 'class', 'probability'] + list(class_names) + ['error'])

  def classified(self, path, probabilities):
    top, probability = top_classes(probabilities, 1)[0]
    if self._csv:
      self._csv.writerow([shown(path), self._names[top], '%.6f' % probability]
                         + ['%.6f' % p for p in probabilities] + [''])
      return
    self._write_json({'path': shown(path), 'class': self._names[top], 'probability': probability,
                      'probabilities': {n: float(p) for n, p in zip(self._names, probabilities)}})

  def skipped(self, path, reason):
    if self._csv:
      self._csv.writerow([shown(path), '', ''] + [''] * len(self._names) + [reason])
      return
    self._write_json({'path': shown(path), 'error': reason})

  def _write_json(self, record):
    self._stream.write(json.dumps(record, ensure_ascii=False) + '\n')


@contextlib.contextmanager
def output_file(path, class_names):
  """An OutputFile for path (None: one that writes nothing)."""
  if not path:
    yield None
    return
  kind = output_format(path)
  with base.atomic_path(path) as tmp:
    with open(tmp, 'w', encoding='utf-8', newline='') as stream:
      yield OutputFile(stream, kind, class_names)
      stream.flush()
      os.fsync(stream.fileno())
