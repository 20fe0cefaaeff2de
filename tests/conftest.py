"""Shared fixtures: small datasets built by the tests themselves, once per session."""
import collections
import os
import signal

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# A shell starts a background job (`cmd &` in a script) with Ctrl-C ignored, and Python then
# leaves SIGINT ignored, in pytest and in every script the tests start: the tests of Ctrl-C need
# it as a terminal delivers it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
  signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest
import tensorflow as tf

tf.compat.v1.disable_eager_execution()

from rundir import checkpoints  # noqa: E402
from support.dataset_helpers import write_records_dataset  # noqa: E402
from training import train_config  # noqa: E402
from training import trainer  # noqa: E402


@pytest.fixture(scope='session')
def records_dataset(tmp_path_factory):
  """A tiny five-class dataset of solid-colour JPEGs: 6 per class, 10 for validation."""
  dataset_dir = str(tmp_path_factory.mktemp('records'))
  splits = write_records_dataset(dataset_dir, per_class=6, num_validation=10)
  return dataset_dir, splits


Trained = collections.namedtuple('Trained', 'dataset_dir splits train_dir checkpoints')


@pytest.fixture(scope='session')
def trained(records_dataset, tmp_path_factory):
  """A training folder of a short trainer.train run with moving averages: 2+ checkpoints (and
  the event file with its graph)."""
  dataset_dir, splits = records_dataset
  train_dir = str(tmp_path_factory.mktemp('train'))

  def run(steps):
    trainer.train(train_config.TrainConfig(
        dataset_dir=dataset_dir, train_dir=train_dir, batch_size=4, max_number_of_steps=steps,
        moving_average_decay=0.9, num_readers=1, num_preprocessing_threads=1,
        log_every_n_steps=1, save_summaries_secs=1000, save_interval_secs=1000,
        summarize_histograms=False))

  run(3)
  if len(checkpoints.list_checkpoints(train_dir)) < 2:  # slim's first save raced the steps
    run(5)
  return Trained(dataset_dir, splits, train_dir, checkpoints.list_checkpoints(train_dir))
