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
  train_dir = logdir / name
  os.makedirs(train_dir / 'eval')
  config = train_config.TrainConfig(dataset_dir='data', train_dir=str(train_dir), **settings)
  run_start.write_run_start(str(train_dir), config, run_start.dataset_markdown(
      'train', 10, {'daisy': 6, 'roses': 4}))
  write_scalars(train_dir, 100, {'losses/total': 1.0, 'accuracy/train_moving': 0.5})
  write_scalars(train_dir / 'eval', 100, {'eval/accuracy': accuracy, 'eval/loss': 0.7,
                                          'eval/mean_per_class_accuracy': accuracy - 0.01})


def test_hparams_values_are_plain_numbers_booleans_and_text():
  assert run_start.hparam_value(None) == 'none'
  assert run_start.hparam_value(['a/fc8', 'a/fc7']) == 'a/fc8,a/fc7'
  assert run_start.hparam_value(()) == 'none'
  assert run_start.hparam_value(0.01) == 0.01 and run_start.hparam_value(True) is True


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
    assert ('eval', 'eval/accuracy') in metrics and ('', 'losses/total') in metrics
    request = {'experimentName': '', 'startIndex': 0, 'sliceSize': 10,
               'allowedStatuses': ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE',
                                   'STATUS_RUNNING'],
               'colParams': [{'hparam': 'learning_rate'},
                             {'metric': {'group': 'eval', 'tag': 'eval/accuracy'}}]}
    groups = tb.wait_for(lambda: len(tb.hparams('session_groups', request).get(
        'sessionGroups', [])) == 2 and tb.hparams('session_groups', request)['sessionGroups'])
    seen = {}
    for group in groups:
      accuracy = [m['value'] for m in group['metricValues']
                  if m['name']['tag'] == 'eval/accuracy']
      seen[group['hparams']['learning_rate']] = [round(a, 5) for a in accuracy]
    assert seen == {0.05: [0.8], 0.001: [0.6]}, groups
    text = tb.tags('text')
    assert 'run/config' in text['fast'] and 'run/dataset' in text['slow']
    layout = tb.wait_for(lambda: tb.get_json('/data/plugin/custom_scalars/layout'))
    charts = {c['title']: c['multiline']['tag'] for c in layout['category'][0]['chart']}
    accuracy = charts['accuracy: training (moving) and validation'][0]
    series = tb.get_json('/data/plugin/custom_scalars/scalars', run='fast/eval', tag=accuracy)
    assert series['regex_valid'] and 'eval/accuracy' in series['tag_to_events']


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
