"""Shared fixtures: small datasets built by the tests themselves, once per session (once per
worker process under pytest-xdist's -n), and shared read-only: a test that changes such a folder
fails (copy it into tmp_path first, as records_dataset_copy does)."""
import collections
import os
import shutil
import signal
import tempfile

import pytest

from support import shared_folders

pytest_plugins = ['pytester']  # (test_conftest.py runs sessions of its own)

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# A shell starts a background job (`cmd &` in a script) with Ctrl-C ignored, and Python then
# leaves SIGINT ignored, in pytest and in every script the tests start: the tests of Ctrl-C need
# it as a terminal delivers it. (Under -n, each worker process runs this too.)
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
  signal.signal(signal.SIGINT, signal.default_int_handler)


# The tests' temporary folders go to memory when it has room: they take tens of GB of checkpoints
# over a run (each test's folder removed when it passes, pytest.ini); on a disk, writing them cost
# test_faults.py and test_training.py a tenth of their time. --basetemp=DIR chooses another place.
MEMORY_FOLDER = '/dev/shm'
MEMORY_FOLDER_MIN_FREE = 8 * 2**30
_MEMORY_BASETEMP = pytest.StashKey()


def memory_basetemp(folder, min_free):
  """A fresh folder in `folder` (a tmpfs) when it has min_free bytes free and can be written;
  else None."""
  try:
    stats = os.statvfs(folder)
    if stats.f_bavail * stats.f_frsize < min_free:
      return None
    return tempfile.mkdtemp(prefix='pytest-', dir=folder)
  except OSError:
    return None


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path factory reads --basetemp
def pytest_configure(config):
  if config.option.basetemp:  # given, or pytest-xdist's worker under its controller's
    return
  basetemp = memory_basetemp(MEMORY_FOLDER, MEMORY_FOLDER_MIN_FREE)
  if basetemp:
    config.option.basetemp = config.stash[_MEMORY_BASETEMP] = basetemp


def pytest_sessionfinish(session, exitstatus):
  """The memory folder goes when every test passed (a failed test's folder stays, as pytest
  keeps it on disk)."""
  basetemp = session.config.stash.get(_MEMORY_BASETEMP, None)
  if basetemp and exitstatus == 0:
    shutil.rmtree(basetemp, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
  basetemp = config.stash.get(_MEMORY_BASETEMP, None)
  if basetemp and os.path.isdir(basetemp):
    terminalreporter.write_line('The failed tests\' folders are in memory, in %s: remove it when '
                                'done.' % basetemp)


@pytest.fixture(scope='session', autouse=True)
def graph_mode():
  """TensorFlow in graph mode before the first test. (Here, not at import: pytest-xdist's
  controller, which only hands the tests to its workers, then imports no TensorFlow.)"""
  import tensorflow as tf
  tf.compat.v1.disable_eager_execution()


@pytest.fixture(scope='session')
def records_dataset(tmp_path_factory):
  """(folder, splits) of a tiny five-class dataset of solid-colour JPEGs: 6 per class, 10 for
  validation (splits as write_records_dataset returns them). Read-only."""
  from support.dataset_helpers import write_records_dataset
  dataset_dir = str(tmp_path_factory.mktemp('records'))
  splits = write_records_dataset(dataset_dir, per_class=6, num_validation=10)
  return dataset_dir, splits


@pytest.fixture
def records_dataset_copy(records_dataset, tmp_path):
  """(folder, splits) of a copy of records_dataset in tmp_path, the test's own to change."""
  dataset_dir = str(tmp_path / 'records_copy')
  shutil.copytree(records_dataset[0], dataset_dir)
  return dataset_dir, records_dataset[1]


Trained = collections.namedtuple('Trained', 'dataset_dir splits train_dir checkpoints')


@pytest.fixture(scope='session')
def trained(records_dataset, tmp_path_factory):
  """A training folder of short trainer.train runs with moving averages on records_dataset:
  the checkpoints of steps 3 and 5 (and the event files with the graph). Read-only: evaluate it
  into tmp_path. Plain sgd: momentum would add a third to each checkpoint (370 -> 555 MB) and its
  copies, and no user of the folder looks at it."""
  from rundir import checkpoints
  from training import train_config
  from training import trainer
  dataset_dir, splits = records_dataset
  train_dir = str(tmp_path_factory.mktemp('train'))

  def run(steps):
    trainer.train(train_config.TrainConfig(
        dataset_dir=dataset_dir, train_dir=train_dir, batch_size=4, max_number_of_steps=steps,
        moving_average_decay=0.9, num_readers=1, num_preprocessing_threads=1,
        log_every_n_steps=1, save_summaries_secs=1000, save_interval_secs=1000,
        summarize_histograms=False, optimizer='sgd'))

  run(3)
  run(5)  # resumed: a run saves no checkpoint of the step it starts from, so two runs for two
  return Trained(dataset_dir, splits, train_dir, checkpoints.list_checkpoints(train_dir))


SHARED = {'records_dataset': lambda value: [value[0]],
          'trained': lambda value: [value.dataset_dir, value.train_dir]}


@pytest.fixture(autouse=True)
def _shared_folders_stay_as_they_were(request):
  """Fails the test that changed a folder the session fixtures share (they serve the tests that
  come after it)."""
  folders = [folder for name, of in SHARED.items() if name in request.fixturenames
             for folder in of(request.getfixturevalue(name))]
  before = [shared_folders.snapshot(folder) for folder in folders]
  yield
  changed = [path for folder, seen in zip(folders, before)
             for path in shared_folders.changes(seen, shared_folders.snapshot(folder))]
  if changed:
    pytest.fail('%s changed the shared folders of %s (copy them into tmp_path first): %s' % (
        request.node.name, ', '.join(name for name in SHARED if name in request.fixturenames),
        ', '.join(changed[:10])), pytrace=False)
