"""A worker's job signature (what must be the chief's), the line naming what differs, and the
signals of a worker that is not the chief."""
import logging
import os
import signal
import threading

import tensorflow as tf

from training import cluster
from training import cluster_roles
from training import joining
from training import train_config
from training import trainer

ROLES = {task: cluster_roles.resolve('worker', task, ['p:1', 'p:2'], ['w:1', 'w:2'])
         for task in (0, 1)}
NAMES = ['daisy', 'roses', 'tulips']


def job(roles, num_classes=3, names=NAMES, num_samples=30, **settings):
  """The signature of a sync job with moving averages, from its real graph on this role."""
  config = train_config.TrainConfig(dataset_dir='unused', train_dir='unused', batch_size=2,
                                    cluster=roles, sync_replicas=True, moving_average_decay=0.99,
                                    **settings)
  with tf.Graph().as_default(), tf.compat.v1.device(cluster.device_setter(roles)):
    trainer.build_train_op(config, tf.zeros([2, 224, 224, 3]), tf.zeros([2], tf.int64),
                           num_classes, num_samples)
    return joining.signature(config, num_classes, names, num_samples,
                             tf.compat.v1.global_variables())


def test_the_chief_and_another_worker_of_one_job_have_one_signature():
  """The same flags and dataset give the same signature on every worker (the chief's graph is
  not another one), and the settings a task may have of its own do not count."""
  chief = job(ROLES[0])
  assert job(ROLES[1], num_readers=1, log_every_n_steps=3, seed=7) == chief
  assert joining.differences(chief, chief) == ''


def test_another_net_or_dataset_is_named_in_one_line():
  chief = job(ROLES[0])
  other_net = joining.differences(job(ROLES[1], model_name='alexnet_v2_bn'), chief)
  assert other_net == '--model_name=alexnet_v2_bn here, alexnet_v2 on the chief'
  other_data = joining.differences(job(ROLES[1], num_classes=5, names=NAMES + ['a', 'b'],
                                       num_samples=50), chief)
  assert other_data == ('the dataset has 5 classes here, 3 on the chief; the split has 50 images '
                        'here, 30 on the chief')
  renamed = joining.differences(job(ROLES[1], names=['a', 'b', 'c']), chief)
  assert renamed == 'the dataset\'s class names differ from the chief\'s'


def test_settings_only_the_variables_show_are_named_too():
  chief = {'--model_name': 'alexnet_v2', joining.VARIABLES: 'abc'}
  assert 'the graph\'s variables differ' in joining.differences(
      dict(chief, **{joining.VARIABLES: 'abd'}), chief)
  assert 'another version of this code' in joining.differences({'--new_flag': '1'}, chief)


def test_a_signal_ends_a_worker_that_is_not_the_chief_at_once(caplog):
  """The handler runs on a thread woken by the signal, so a main thread blocked in TensorFlow
  does not hold it up; its line says the worker stops, not that it saves."""
  ended = threading.Event()
  statuses = []
  previous = signal.getsignal(signal.SIGTERM)
  with caplog.at_level(logging.INFO), joining.leaves_at_once(
      ROLES[1], {signal.SIGTERM: 143},
      exit_fn=lambda status: (statuses.append(status), ended.set())):
    os.kill(os.getpid(), signal.SIGTERM)
    assert ended.wait(10)
  assert statuses == [143]
  assert 'Received SIGTERM: worker 1 of 2 ps + 2 workers stops (the chief saves the ' \
         'checkpoints).' in caplog.text
  assert signal.getsignal(signal.SIGTERM) is previous
