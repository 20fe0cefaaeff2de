"""What a training run writes once, when it starts fresh: its place in TensorBoard's HParams
dashboard ("which run was better"), its configuration and dataset as Text, and a Custom Scalars
layout that puts training and evaluation on one chart.

A training run is one row of the HParams table, a session group of two sessions: training's,
written into the training folder once, when the run starts fresh (a resumed run is the same
session), with the experiment that names the hyperparameters and the metrics; and the
evaluation's, written into its eval folder at its first evaluation of the run (session_summary).
Both carry the run's hyperparameters (from the TrainConfig, kept in run.json for the evaluator)
and its run id as the group name. The metrics are scalars the suite writes anyway, each in its
own session's run (group ''): training's in the training folder, the evaluation's in the eval
folder. TensorBoard looks a metric up in the run "<session's run>/<group>", and with the
training folder itself as the logdir (the command training prints) the session's run is ".":
"./eval" is no run, so a group "eval" would show no validation metric there. Group '' finds
them under `tensorboard --logdir=runs/alexnet` as under `--logdir=runs`, where several runs line
up in the HParams table and the parallel-coordinates view.
"""
import time

import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import summary as custom_scalar_summary
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import summary as hparams_summary

import base
from summaries import events

# TrainConfig fields shown as hyperparameters (what tells two runs apart).
HPARAMS = ('model_name', 'optimizer', 'learning_rate', 'learning_rate_decay_type',
           'learning_rate_decay_factor', 'num_epochs_per_decay', 'warmup_epochs', 'batch_size',
           'max_number_of_steps', 'weight_decay', 'label_smoothing', 'moving_average_decay',
           'clip_gradient_norm', 'precision', 'input_pipeline', 'fast_mode', 'min_crop_area',
           'train_image_size', 'checkpoint_path', 'trainable_scopes', 'num_clones',
           'dataset_name', 'seed')
# (group: the run relative to the session's run, tag, what the column says). '' for all: each
# metric is in the run of its own session, training's or the evaluation's (see above).
METRICS = (
    ('', 'eval/accuracy', 'validation accuracy'),
    ('', 'eval/loss', 'validation loss'),
    ('', 'eval/mean_per_class_accuracy', 'validation mean per-class accuracy'),
    ('', 'accuracy/train_moving', 'training accuracy (moving average)'),
    ('', 'losses/total', 'training loss'),
)
# With base.TOP5_CLASSES classes or more the evaluation writes top-5 accuracy too.
TOP5_TAG = 'eval/top5_accuracy'
TOP5_METRIC = ('', TOP5_TAG, 'validation top-5 accuracy')


def metrics_of(num_classes=None):
  """The METRICS of a dataset of num_classes classes (None: unknown): top-5 accuracy after the
  validation accuracy with base.TOP5_CLASSES classes or more."""
  if num_classes is None or num_classes < base.TOP5_CLASSES:
    return METRICS
  return METRICS[:1] + (TOP5_METRIC,) + METRICS[1:]


def hparam_value(value):
  """A value the HParams plugin takes: numbers and booleans as they are, None as 'none',
  sequences as comma-separated text."""
  if value is None:
    return 'none'
  if isinstance(value, (list, tuple)):
    return ','.join(str(v) for v in value) or 'none'
  if isinstance(value, (bool, int, float, str)):
    return value
  return str(value)


def hparams_of(config):
  return {name: hparam_value(getattr(config, name)) for name in HPARAMS}


def _hparam_type(value):
  if isinstance(value, bool):
    return api_pb2.DATA_TYPE_BOOL
  if isinstance(value, (int, float)):
    return api_pb2.DATA_TYPE_FLOAT64
  return api_pb2.DATA_TYPE_STRING


def experiment_summary(hparams, num_classes=None):
  """The experiment: the hyperparameters' names and types, the metrics' tags and groups (of a
  dataset of num_classes classes: metrics_of)."""
  infos = [api_pb2.HParamInfo(name=name, type=_hparam_type(value))
           for name, value in hparams.items()]
  metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(group=group, tag=tag),
                                display_name=tag, description=description)
             for group, tag, description in metrics_of(num_classes)]
  return hparams_summary.experiment_pb(infos, metrics)


def session_summary(hparams, group_name, start_time=None):
  """A session of the run whose hyperparameters are `hparams` (hparams_of) in the HParams
  dashboard: group_name, the run id, makes training's session and the evaluation's one row."""
  return hparams_summary.session_start_pb(hparams, group_name=group_name,
                                          start_time_secs=start_time or time.time())


def config_markdown(config):
  """Every setting of the run, as a Markdown table for TensorBoard's Text dashboard."""
  lines = ['| setting | value |', '|---|---|']
  lines += [events.markdown_row(name, hparam_value(value))
            for name, value in sorted(vars(config).items())]
  return '\n'.join(lines)


def dataset_markdown(split_name, num_samples, class_counts):
  """The split the run trains on: images per class (from the converter's manifest); beyond
  base.LISTED_CLASSES classes, the classes of the fewest and of the most images."""
  lines = ['%d %s images in %d classes' % (num_samples, split_name, len(class_counts)), '',
           '| class | images |', '|---|---|']
  fewest, most, left_out = base.worst_and_best(list(class_counts.items()), key=lambda c: c[1])
  lines += [events.markdown_row(name, count) for name, count in fewest]
  if left_out:
    lines.append(events.markdown_row('... %d more classes' % left_out, ''))
  lines += [events.markdown_row(name, count) for name, count in reversed(most)]  # ascending
  return '\n'.join(lines)


# Custom Scalars charts: (title, tag regex). A tag regex matches in every run, so one chart
# holds the training folder's series and its eval run's: the train and eval tags differ.
CHARTS = (
    ('accuracy: training (moving) and validation', r'^(accuracy/train_moving|eval/accuracy)$'),
    ('loss: training (total, cross-entropy) and validation',
     r'^(losses/total|losses/cross_entropy|eval/loss)$'),
)
TOP5_CHART = ('accuracy: training (moving) and validation (top-1, top-5)',
              r'^(accuracy/train_moving|eval/accuracy|%s)$' % TOP5_TAG)


def charts_of(num_classes=None):
  """The CHARTS of a dataset of num_classes classes (None: unknown): with base.TOP5_CLASSES
  classes or more, validation top-5 accuracy on the accuracy chart too."""
  if num_classes is None or num_classes < base.TOP5_CLASSES:
    return CHARTS
  return (TOP5_CHART,) + CHARTS[1:]


def layout_summary(num_classes=None):
  charts = [layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(tag=[tag]))
            for title, tag in charts_of(num_classes)]
  return custom_scalar_summary.pb(layout_pb2.Layout(category=[
      layout_pb2.Category(title='training and validation', chart=charts)]))


def write_run_start(train_dir, config, dataset_text, start_time=None, num_classes=None,
                    group_name=''):
  """Writes, at step 0 into train_dir (an event file of its own beside training's), the
  experiment and this run's hyperparameters (its session of group_name: the run id), its whole
  configuration and dataset as text, and the Custom Scalars layout (their metrics those of a
  dataset of num_classes classes)."""
  hparams = hparams_of(config)
  writer = events.make_writer(train_dir)
  try:
    writer.add_summary(experiment_summary(hparams, num_classes), 0)
    writer.add_summary(session_summary(hparams, group_name, start_time), 0)
    writer.add_summary(tf.compat.v1.Summary(value=[
        events.text_summary_value('run/config', config_markdown(config)),
        events.text_summary_value('run/dataset', dataset_text)]), 0)
    writer.add_summary(layout_summary(num_classes), 0)
  finally:
    writer.close()
