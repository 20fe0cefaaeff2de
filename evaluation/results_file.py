"""Every number of one evaluation in a file beside its events: EVAL_DIR/results/step-<N>.json,
one per evaluated step, at every number of classes.

The summaries and the log show what a person can read of many classes (the worst and best
classes, the most confused pairs); this file holds it all: the headline metrics, each class's
images, predictions, precision and recall, and the whole confusion matrix. It is written through
a temporary name and renamed into place, so a file under its final name is always whole. JSON,
one class and one matrix row a line:

    {
      "checkpoint": "model.ckpt-680", "step": 680, "split": "validation", ...,
      "classes": [
        {"id": 0, "name": "daisy", "images": 37, "predicted": 40, "precision": 0.825, ...},
        ...],
      "confusion_matrix": [
        [36,1,0,0,0],
        ...]
    }
"""
import json
import math
import os

import base

FOLDER = 'results'  # in eval_dir


def relative_path(step):
  """The file of a step, relative to eval_dir (as the TEXT card names it)."""
  return os.path.join(FOLDER, 'step-%d.json' % step)


def path(eval_dir, step):
  return os.path.join(eval_dir, relative_path(step))


def _number(value):
  return None if math.isnan(value) else round(float(value), 6)


def contents(result, split_name):
  """{key: value} of an evaluation.results.EvalResult: its headline (EvalResult.to_json), the
  split, 'classes' ([{'id', 'name', 'images', 'predicted', 'precision', 'recall'}], None where a
  value is undefined) and 'confusion_matrix' (rows: true class, columns: predicted, in class id
  order)."""
  confusion = result.confusion_matrix
  images, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
  classes = [{'id': i, 'name': str(name), 'images': int(images[i]),
              'predicted': int(predicted[i]), 'precision': _number(result.precision[i]),
              'recall': _number(result.recall[i])}
             for i, name in enumerate(result.class_names)]
  head = result.to_json()
  head['split'] = split_name
  head['num_classes'] = len(result.class_names)
  return dict(head, classes=classes, confusion_matrix=[[int(v) for v in row] for row in confusion])


def _compact(item):
  """A class on a line; a matrix row without spaces (2 MB of them at 1,000 classes)."""
  if isinstance(item, list):
    return json.dumps(item, separators=(',', ':'))
  return json.dumps(item, ensure_ascii=False)


def to_text(values):
  """JSON text of contents(): a key a line, each element of a list on a line of its own."""
  lines = []
  for key, value in values.items():
    if isinstance(value, list):
      items = ',\n'.join('    ' + _compact(item) for item in value)
      text = '[\n%s\n  ]' % items if value else '[]'
    else:
      text = json.dumps(value, ensure_ascii=False)
    lines.append('  %s: %s' % (json.dumps(key), text))
  return '{\n%s\n}\n' % ',\n'.join(lines)


def write(eval_dir, result, split_name):
  """Writes the file of the result's step (replacing an earlier one whole); returns its path."""
  target = path(eval_dir, result.step)
  os.makedirs(os.path.dirname(target), exist_ok=True)
  base.write_text_atomic(target, to_text(contents(result, split_name)))
  return target


def read(file_path):
  """The contents of a results file."""
  with open(file_path, encoding='utf-8') as f:
    return json.load(f)
