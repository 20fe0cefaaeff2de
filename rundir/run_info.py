"""What it takes to use a training folder's checkpoints, written beside them: run.json (the model,
the number of classes, the image size, the preprocessing, the moving-average decay) and
labels.txt (the class names, `id:name` lines as the converter writes them).

Training writes both at its start (write, from_training), so prediction and export need only a
training folder or a checkpoint prefix (for_checkpoint), and evaluation takes the net from it
(net_settings). Folders trained before run.json existed work with the same settings given
explicitly (run_settings.Overrides). run.json also holds a run id, new at each fresh start and
kept when training resumes: the evaluator tells a new run in the same folder from the one it
evaluated (run_id).

And it holds the SHA-256 of the class names in label order (classes_digest): a labels.txt edited
afterwards (a line moved or renamed), or a run.json whose class count or digest was edited (or
removed: format 2 always has one), no longer matches, and read refuses it, since a moved line
would name the wrong class at every prediction. A class count other than the checkpoint's logits
is refused when the checkpoint is restored (checkpoints.check_evaluable). Both files edited
consistently (labels.txt, and run.json's digest recomputed) cannot be told.

No flags are read here; the trainer, the evaluator, the predictor and the exporter import it.
"""
import dataclasses
import hashlib
import json
import os
import uuid
from typing import Optional

from absl import logging

import base
from base import UserError
from datasets import dataset_utils
from nets import nets_factory
from preprocessing import preprocessing_factory
from rundir import checkpoints
from rundir import run_settings

FILENAME = 'run.json'
LABELS_FILENAME = dataset_utils.LABELS_FILENAME
FORMAT_VERSION = 2  # 2: with DIGEST_KEY
DIGEST_KEY = 'class_names_sha256'  # in run.json: classes_digest of the class names trained on


@dataclasses.dataclass
class RunInfo:
  model_name: str
  class_names: list                       # index = class id
  image_size: int                         # the side of the square images training used
  preprocessing: str                      # a preprocessing_factory name
  moving_average_decay: Optional[float] = None  # the run kept averages of the weights
  dataset_name: str = ''
  max_number_of_steps: int = 0            # the step training runs to (0: until stopped)
  run_id: str = dataclasses.field(default='', compare=False)  # '': not known (an older run)
  # What run.json records of the class names (classes_digest); '': nothing (an older run).
  class_names_sha256: str = dataclasses.field(default='', compare=False)
  # The run's HParams hyperparameters as its fresh start wrote them (summaries.run_start): the
  # evaluator's HParams session repeats them. {}: not known (an older run).
  hparams: dict = dataclasses.field(default_factory=dict, compare=False)

  @property
  def num_classes(self):
    return len(self.class_names)


def preprocessing_name(model_name):
  """The preprocessing_factory name of a model's preprocessing ('inception' for alexnet_v2)."""
  module = preprocessing_factory.PREPROCESSING_MAP[model_name]
  short = module.__name__.rsplit('.', 1)[-1].replace('_preprocessing', '')
  return short if preprocessing_factory.PREPROCESSING_MAP.get(short) is module else model_name


def classes_digest(class_names):
  """SHA-256 (hex) of the class names in label order, each followed by a newline: what
  `cut -d: -f2- labels.txt | sha256sum` prints for the labels.txt of these classes."""
  text = ''.join(name + '\n' for name in class_names)
  return hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()


def from_training(config, dataset, hparams=None):
  """The RunInfo of a training run (a train_config.TrainConfig) on a slim Dataset, with its
  HParams hyperparameters (a fresh start's; None: those run.json holds when it resumes)."""
  return RunInfo(
      model_name=config.model_name,
      class_names=base.class_names(dataset.labels_to_names, dataset.num_classes),
      image_size=nets_factory.image_size(config.model_name, config.train_image_size),
      preprocessing=preprocessing_name(config.model_name),
      moving_average_decay=config.moving_average_decay, dataset_name=dataset.name,
      max_number_of_steps=config.max_number_of_steps, hparams=hparams or {})


def write(train_dir, info, resumed=False):
  """Writes labels.txt, then run.json (each atomically): run.json present means both are. The
  run id is info's, else the one run.json holds when training resumed (resumed=True), else a
  new one (a fresh start: a new run, even in a folder an earlier run used). Returns it. The
  hyperparameters likewise: info's, else those of run.json when resumed."""
  stored = _record(train_dir) if resumed else {}
  run_id = info.run_id or run_id_of(train_dir, stored) or uuid.uuid4().hex
  hparams = info.hparams or stored.get('hparams')
  dataset_utils.write_label_file(dict(enumerate(info.class_names)), train_dir, LABELS_FILENAME)
  record = {'format_version': FORMAT_VERSION, 'model_name': info.model_name,
            'num_classes': info.num_classes, 'labels_file': LABELS_FILENAME,
            'image_size': info.image_size, 'preprocessing': info.preprocessing,
            'moving_average_decay': info.moving_average_decay,
            'dataset_name': info.dataset_name, 'max_number_of_steps': info.max_number_of_steps,
            'run_id': run_id, DIGEST_KEY: classes_digest(info.class_names),
            'hparams': hparams if isinstance(hparams, dict) else {}}
  base.write_text_atomic(os.path.join(train_dir, FILENAME),
                         json.dumps(record, indent=2, sort_keys=True) + '\n')
  return run_id


def _record(train_dir):
  """What train_dir's run.json holds; {} when there is none or it cannot be read."""
  try:
    with open(os.path.join(train_dir, FILENAME), encoding='utf-8') as f:
      record = json.load(f)
  except (OSError, ValueError):
    return {}
  return record if isinstance(record, dict) else {}


def run_id_of(train_dir, record=None):
  """The run id in train_dir's run.json (record: what it holds, when read already); None when
  there is none (no folder or run.json yet, a run from before run ids, or a run.json that
  cannot be read)."""
  run_id = (_record(train_dir) if record is None else record).get('run_id')
  return run_id if isinstance(run_id, str) and run_id else None


def read_labels(path):
  """[name, ...] from an `id:name` labels file; UserError unless the ids are 0..n-1."""
  if not os.path.isfile(path):
    raise UserError('labels file %s does not exist' % path)
  labels = dataset_utils.read_label_file(os.path.dirname(path) or '.', os.path.basename(path))
  if sorted(labels) != list(range(len(labels))) or not labels:
    raise UserError('%s must name classes 0..n-1, one `id:name` line each; it has ids %s'
                    % (path, sorted(labels)[:10]))
  return [labels[i] for i in range(len(labels))]


def read(train_dir):
  """The RunInfo a training folder holds, or None when it has no run.json (an older run).
  UserError when run.json or its labels file cannot be used."""
  path = os.path.join(train_dir, FILENAME)
  if not os.path.exists(path):
    return None
  try:
    with open(path, encoding='utf-8') as f:
      record = json.load(f)
  except (OSError, ValueError) as e:
    raise UserError('cannot read %s (%s); delete it and pass --model_name and --labels_file '
                    'instead' % (path, e))
  try:
    labels_path = os.path.join(train_dir, record.get('labels_file', LABELS_FILENAME))
    names = read_labels(labels_path)
    if len(names) != record['num_classes']:
      raise UserError('%s says %d classes but its labels file names %d'
                      % (path, record['num_classes'], len(names)))
    digest = record.get(DIGEST_KEY, '')
    if (digest or record.get('format_version', 1) >= 2) and digest != classes_digest(names):
      raise UserError('%s does not match %s: its class names, in their order, are not those the '
                      'run was trained with (%s); a moved line names the wrong class: restore '
                      'both as training wrote them (labels.txt as the dataset\'s)' % (
                          labels_path, path, 'the %s there' % DIGEST_KEY if digest else
                          'and %s, which format %s always has, is missing' % (
                              DIGEST_KEY, record['format_version'])))
    return RunInfo(model_name=record['model_name'], class_names=names,
                   image_size=int(record['image_size']), preprocessing=record['preprocessing'],
                   moving_average_decay=record.get('moving_average_decay'),
                   dataset_name=record.get('dataset_name', ''),
                   max_number_of_steps=int(record.get('max_number_of_steps') or 0),
                   run_id=str(record.get('run_id') or ''), class_names_sha256=digest,
                   hparams=record['hparams'] if isinstance(record.get('hparams'), dict) else {})
  except (KeyError, TypeError, ValueError, AttributeError) as e:
    raise UserError('%s is not a run description (%s: %s); delete it and pass --model_name and '
                    '--labels_file instead' % (path, type(e).__name__, e))


def _labels_path(overrides):
  if overrides.labels_file:
    return overrides.labels_file
  if overrides.dataset_dir:
    return os.path.join(overrides.dataset_dir, LABELS_FILENAME)
  return None


def _check_model(model_name):
  if model_name not in nets_factory.nets_map:
    raise UserError('unknown model %s; choose one of %s'
                    % (model_name, ', '.join(sorted(nets_factory.nets_map))))


def _decay(overrides, stored):
  """The moving-average decay to restore with: the user's (0: the raw weights), else the run's."""
  if overrides.moving_average_decay is None:
    return stored.moving_average_decay if stored else None
  if overrides.moving_average_decay == 0:
    return None
  if not 0.0 < overrides.moving_average_decay < 1.0:
    raise UserError('--moving_average_decay must be in (0, 1), or 0 for the raw weights')
  return overrides.moving_average_decay


def _check_classes(train_dir, stored, labels_path, class_names):
  """UserError when labels given (labels_path) list the run's classes (as checked against its
  digest) in another order; a note when the run's labels.txt cannot be checked (a run.json from
  before the digest)."""
  if stored is None:
    return
  if labels_path and stored.class_names_sha256 and class_names != stored.class_names and sorted(
      class_names) == sorted(stored.class_names):
    raise UserError('%s lists the classes of %s in another order than the run was trained with '
                    '(its %s): a moved line names the wrong class; leave out --labels_file and '
                    '--dataset_dir' % (labels_path, train_dir, LABELS_FILENAME))
  if not labels_path and not stored.class_names_sha256:
    logging.info('%s is from before runs recorded a digest of their class names: its %s is '
                 'taken as it is.', os.path.join(train_dir, FILENAME), LABELS_FILENAME)


def for_checkpoint(checkpoint_path, overrides=None):
  """(checkpoint prefix, RunInfo) of a training folder (its newest checkpoint) or a prefix.

  The folder's run.json gives the settings, each overridden by the user's when given; without
  run.json the labels must be given (--labels_file or --dataset_dir) and the model defaults to
  alexnet_v2, the image size to the net's.
  """
  overrides = overrides or run_settings.Overrides()
  base.check_no_glob_characters(checkpoint_path, 'checkpoint_path')
  checkpoint = checkpoints.resolve(checkpoint_path)
  train_dir = os.path.dirname(checkpoint) or '.'
  stored = read(train_dir)
  labels_path = _labels_path(overrides)
  if stored is None and labels_path is None:
    raise UserError('%s has no %s (it was trained before runs described themselves): pass the '
                    'class names with --labels_file=PATH or --dataset_dir=DIR (its labels.txt), '
                    'and --model_name if it is not %s'
                    % (train_dir, FILENAME, run_settings.DEFAULT_MODEL))
  model_name, image_size, preprocessing = net_settings(stored, overrides.model_name,
                                                       overrides.image_size)
  class_names = read_labels(labels_path) if labels_path else stored.class_names
  _check_classes(train_dir, stored, labels_path, class_names)
  info = RunInfo(
      model_name=model_name,
      class_names=class_names,
      image_size=image_size, preprocessing=preprocessing,
      moving_average_decay=_decay(overrides, stored),
      dataset_name=stored.dataset_name if stored else '',
      max_number_of_steps=stored.max_number_of_steps if stored else 0,
      run_id=stored.run_id if stored else '')
  return checkpoint, info


def net_settings(stored, model_name=None, image_size=None, size_flag='image_size'):
  """(model name, image size, preprocessing name) of the net that uses a run's checkpoints: the
  model and size the user gave (None: not given), else those of run.json (stored, a RunInfo;
  None: no run.json), else alexnet_v2 at its own size. The preprocessing is the run's when the
  model is the run's, else the model's. UserError for an unknown model or preprocessing, or a
  size (--size_flag) below the smallest the net classifies."""
  model_name = model_name or (stored.model_name if stored else run_settings.DEFAULT_MODEL)
  _check_model(model_name)
  smallest = nets_factory.min_image_size(model_name)
  if image_size is not None and image_size < smallest:
    raise UserError('--%s must be at least %d (the smallest input %s classifies), got %d'
                    % (size_flag, smallest, model_name, image_size))
  same_model = stored is not None and stored.model_name == model_name
  if image_size is None:
    image_size = stored.image_size if same_model else nets_factory.image_size(model_name)
  preprocessing = stored.preprocessing if same_model else preprocessing_name(model_name)
  if preprocessing not in preprocessing_factory.PREPROCESSING_MAP:
    raise UserError('%s names an unknown preprocessing %s; choose one of %s' % (
        FILENAME, preprocessing, ', '.join(sorted(preprocessing_factory.PREPROCESSING_MAP))))
  return model_name, image_size, preprocessing


def check_same_classes(train_dir, class_names):
  """UserError when the run in train_dir was trained on other classes (its run.json): resuming
  it on another dataset of as many classes would go on silently and relabel its checkpoints."""
  stored = read(train_dir)
  if stored is not None and list(stored.class_names) != list(class_names):
    differ = [(old, new) for old, new in zip(stored.class_names, class_names) if old != new] or [
        ('%d classes' % len(stored.class_names), '%d classes' % len(class_names))]
    raise UserError('%s was trained on other classes (%s in its %s, %s in this dataset%s): '
                    'resume it on its own dataset, or give a new --train_dir' % (
                        train_dir, differ[0][0], FILENAME, differ[0][1],
                        ', and %d more' % (len(differ) - 1) if len(differ) > 1 else ''))


def last_step(train_dir):
  """The step training in train_dir runs to, as its run.json says; None when not known (no
  folder or run.json yet: training may start after the evaluator, so callers ask again)."""
  try:
    info = read(train_dir) if os.path.isdir(train_dir) else None
  except UserError as e:
    logging.warning('Not reading training\'s last step: %s', e)
    return None
  return (info.max_number_of_steps or None) if info else None
