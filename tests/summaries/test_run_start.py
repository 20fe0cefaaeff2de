"""What a training run writes when it starts (HParams session, config and dataset text, Custom
Scalars layout), read back through a real TensorBoard's HTTP API."""
import os

import tensorflow as tf

from summaries import events
from summaries import run_start
from support import tb_server
from training import train_config


def write_scalars(log_dir, step, values):
  writer = events.make_writer(str(log_dir))
  try:
    writer.add_summary(tf.compat.v1.Summary(value=[
        tf.compat.v1.Summary.Value(tag=tag, simple_value=v) for tag, v in values.items()]), step)
  finally:
    writer.close()


def fake_run(logdir, name, accuracy, **settings):
  """A run as training and evaluation write it: training's session (its run id `name`) and
  scalars in logdir/name, the evaluation's session (as evaluation.training_run writes it) and
  scalars in logdir/name/eval."""
  train_dir = logdir / name
  os.makedirs(train_dir / 'eval')
  config = train_config.TrainConfig(dataset_dir='data', train_dir=str(train_dir), **settings)
  run_start.write_run_start(str(train_dir), config, run_start.dataset_markdown(
      'train', 10, {'daisy': 6, 'roses': 4}), group_name=name)
  write_scalars(train_dir, 100, {'losses/total': 1.0, 'accuracy/train_moving': 0.5})
  writer = events.make_writer(str(train_dir / 'eval'))
  try:
    writer.add_summary(run_start.session_summary(run_start.hparams_of(config), name), 0)
  finally:
    writer.close()
  write_scalars(train_dir / 'eval', 100, {'eval/accuracy': accuracy, 'eval/loss': 0.7,
                                          'eval/mean_per_class_accuracy': accuracy - 0.01})


ALL_STATUSES = ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE', 'STATUS_RUNNING']


def session_groups(tb, count, columns):
  """The HParams table's rows (session groups) once there are `count`, with these columns."""
  request = {'experimentName': '', 'startIndex': 0, 'sliceSize': 10,
             'allowedStatuses': ALL_STATUSES, 'colParams': columns}
  return tb.wait_for(lambda: len(tb.hparams('session_groups', request).get(
      'sessionGroups', [])) == count and tb.hparams('session_groups', request)['sessionGroups'])


def metric_values(group):
  return {m['name']['tag']: round(m['value'], 5) for m in group['metricValues']}


def test_hparams_values_are_plain_numbers_booleans_and_text():
  assert run_start.hparam_value(None) == 'none'
  assert run_start.hparam_value(['a/fc8', 'a/fc7']) == 'a/fc8,a/fc7'
  assert run_start.hparam_value(()) == 'none'
  assert run_start.hparam_value(0.01) == 0.01 and run_start.hparam_value(True) is True


def test_the_recipe_s_settings_are_hyperparameters():
  config = train_config.TrainConfig(dataset_dir='data', train_dir='runs/a', min_crop_area=0.5,
                                    train_image_size=195)
  hparams = run_start.hparams_of(config)
  assert hparams['min_crop_area'] == 0.5 and hparams['train_image_size'] == 195
  assert run_start.hparams_of(train_config.TrainConfig(
      dataset_dir='data', train_dir='runs/b'))['min_crop_area'] == 'none'


def test_two_runs_compare_in_the_hparams_dashboard_with_their_eval_metrics(tmp_path):
  fake_run(tmp_path, 'fast', 0.8, learning_rate=0.05, optimizer='adam')
  fake_run(tmp_path, 'slow', 0.6, learning_rate=0.001)
  with tb_server.tensorboard(tmp_path) as tb:
    experiment = tb.wait_for(
        lambda: tb.hparams('experiment', {'experimentName': ''}).get('hparamInfos') and
        tb.hparams('experiment', {'experimentName': ''}))
    names = {info['name'] for info in experiment['hparamInfos']}
    assert {'learning_rate', 'optimizer', 'batch_size', 'precision'} <= names
    metrics = {(m['name'].get('group', ''), m['name']['tag']) for m in experiment['metricInfos']}
    assert ('', 'eval/accuracy') in metrics and ('', 'losses/total') in metrics
    groups = session_groups(tb, 2, [{'hparam': 'learning_rate'},
                                    {'metric': {'group': '', 'tag': 'eval/accuracy'}}])
    seen = {group['hparams']['learning_rate']: metric_values(group)['eval/accuracy']
            for group in groups}
    assert seen == {0.05: 0.8, 0.001: 0.6}, groups
    assert {len(group['sessions']) for group in groups} == {2}  # training's and evaluation's
    text = tb.tags('text')
    assert 'run/config' in text['fast'] and 'run/dataset' in text['slow']
    layout = tb.wait_for(lambda: tb.get_json('/data/plugin/custom_scalars/layout'))
    charts = {c['title']: c['multiline']['tag'] for c in layout['category'][0]['chart']}
    accuracy = charts['accuracy: training (moving) and validation'][0]
    series = tb.get_json('/data/plugin/custom_scalars/scalars', run='fast/eval', tag=accuracy)
    assert series['regex_valid'] and 'eval/accuracy' in series['tag_to_events']


def test_one_run_s_folder_as_the_logdir_shows_its_validation_metrics_too(tmp_path):
  # `tensorboard --logdir=runs/synthetic`, as training and the Quick start print it: the
  # training session's run is "." there, and its eval run "eval".
  fake_run(tmp_path, 'synthetic', 0.75, learning_rate=0.02)
  with tb_server.tensorboard(tmp_path / 'synthetic') as tb:
    [group] = session_groups(tb, 1, [{'hparam': 'learning_rate'}])
    assert group['hparams']['learning_rate'] == 0.02
    assert metric_values(group) == {
        'eval/accuracy': 0.75, 'eval/loss': 0.7, 'eval/mean_per_class_accuracy': 0.74,
        'accuracy/train_moving': 0.5, 'losses/total': 1.0}, group


def test_two_writers_opened_in_the_same_second_keep_their_own_files(tmp_path):
  # Event file names otherwise differ only by the second: the second writer would overwrite.
  write_scalars(tmp_path, 1, {'a': 1.0})
  write_scalars(tmp_path, 1, {'b': 2.0})
  tags = set()
  for path in tmp_path.iterdir():
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      tags.update(v.tag for v in event.summary.value)
  assert len(list(tmp_path.iterdir())) == 2 and tags == {'a', 'b'}


def test_the_dataset_card_lists_every_class_up_to_the_limit_and_the_extremes_beyond():
  few = run_start.dataset_markdown('train', 30, {'a': 10, 'b': 20})
  assert few.splitlines()[-2:] == ['| a | 10 |', '| b | 20 |']
  many = {'class%04d' % i: i + 1 for i in range(1000)}
  text = run_start.dataset_markdown('train', sum(many.values()), many)
  rows = [line for line in text.splitlines() if line.startswith('| class')]
  assert len(rows) == 1 + 20  # the header and the 10 fewest and 10 most
  assert '| ... 980 more classes |  |' in text
  assert rows[1] == '| class0000 | 1 |' and rows[-1] == '| class0999 | 1000 |'
