"""Tasks that can never join a cluster's job (another net, another dataset, no chief) say why in
one line and exit 2 within a bound; a worker that is not the chief stops at once on SIGTERM.
Real processes, each ended by its PID, on free loopback ports."""
import os
import signal
import threading
import time

import pytest

from support.dataset_helpers import CLASS_NAMES
from support.dataset_helpers import write_records_dataset
from support.scripts import start_script
from training import local_cluster

FLAGS = ['--batch_size=2', '--train_image_size=195', '--num_readers=1',
         '--num_preprocessing_threads=1', '--log_every_n_steps=1', '--summarize_histograms=false']
STARTED = 'As worker'  # the end of the start line, once the task's graph is built
JOIN_SECS = 45  # from that line: to read the chief's signature and exit


class Task:
  """train_alexnet.py as one task of a cluster of 1 ps and `workers` workers on `ports`; its
  output collected by a thread."""

  def __init__(self, ports, workers, job, index, *flags):
    hosts = ['127.0.0.1:%d' % port for port in ports]
    self.process = start_script(
        'train_alexnet.py', '--job_name=%s' % job, '--task=%d' % index,
        '--ps_hosts=%s' % hosts[0], '--worker_hosts=%s' % ','.join(hosts[1:1 + workers]),
        *flags)
    self.lines = []
    self.reader = threading.Thread(target=lambda: self.lines.extend(self.process.stdout),
                                   daemon=True)
    self.reader.start()

  def output(self):
    return ''.join(self.lines)

  def wait_for(self, *texts, timeout):
    """Waits until a line holds one of texts; fails with the output when it does not."""
    give_up = time.time() + timeout
    while not any(text in line for line in list(self.lines) for text in texts):
      assert time.time() < give_up and self.process.poll() is None, self.output()[-3000:]
      time.sleep(0.2)

  def status(self, timeout):
    """The exit status within timeout seconds (None: still running)."""
    try:
      return self.process.wait(timeout)
    except Exception:  # noqa: BLE001  (subprocess.TimeoutExpired)
      return None
    finally:
      self.reader.join(timeout=5)


def assert_last_line(task, status, *fragments):
  assert status == 2, (status, task.output()[-3000:])
  output = task.output()
  assert 'Traceback' not in output, output[-3000:]
  errors = [line for line in output.splitlines() if line.startswith('error: ')]
  assert errors == [output.strip().splitlines()[-1]], output[-3000:]
  for fragment in fragments:
    assert fragment in errors[0], (fragment, errors[0])


@pytest.fixture
def tasks():
  """Starts tasks (Task's arguments); kills those still running at the end, by PID."""
  started = []

  def start(*args):
    started.append(Task(*args))
    return started[-1]
  yield start
  for task in started:
    task.process.kill()
    task.process.wait()


@pytest.mark.slow
def test_workers_of_another_net_or_dataset_exit_2_naming_the_difference(records_dataset,
                                                                       tmp_path, tasks):
  """Worker 1 with another --model_name waited forever ("Variables not initialized"), worker 2
  on a 3-class dataset died at its first step with a 113-line traceback: each now exits 2 with
  one line naming what differs from the chief's job, soon after its graph is built."""
  dataset_dir, _ = records_dataset
  other_dataset = str(tmp_path / 'three_classes')
  write_records_dataset(other_dataset, per_class=6, num_validation=10,
                        class_names=CLASS_NAMES[:3])
  ports = local_cluster.free_ports(4)
  common = FLAGS + ['--train_dir=%s' % (tmp_path / 'train'), '--max_number_of_steps=3']
  tasks(ports, 3, 'ps', 0, '--dataset_dir=%s' % dataset_dir, '--train_dir=unused')
  chief = tasks(ports, 3, 'worker', 0, '--dataset_dir=%s' % dataset_dir, *common)
  chief.wait_for('step 1/', 'Training finished', timeout=240)  # its variables are ready
  other_net = tasks(ports, 3, 'worker', 1, '--dataset_dir=%s' % dataset_dir,
                    '--model_name=alexnet_v2_bn', *common)
  other_data = tasks(ports, 3, 'worker', 2, '--dataset_dir=%s' % other_dataset, *common)
  for task in (other_net, other_data):
    task.wait_for(STARTED, timeout=240)
  assert_last_line(other_net, other_net.status(JOIN_SECS),
                   'worker 1 of 1 ps + 3 workers cannot join the chief\'s job: '
                   '--model_name=alexnet_v2_bn here, alexnet_v2 on the chief')
  assert_last_line(other_data, other_data.status(JOIN_SECS),
                   'worker 2 of 1 ps + 3 workers cannot join the chief\'s job: '
                   'the dataset has 3 classes here, 5 on the chief')


@pytest.mark.slow
def test_a_worker_without_its_chief_gives_up_and_stops_at_once_on_sigterm(records_dataset,
                                                                          tmp_path, tasks):
  """No chief: worker 1 gives up after --startup_timeout_secs with one line and exit 2; worker 2
  (no limit given) is waiting when SIGTERM comes, and stops at once saying so (it said "saving a
  checkpoint", which a worker but the chief never does, and went on waiting)."""
  dataset_dir, _ = records_dataset
  ports = local_cluster.free_ports(4)
  flags = FLAGS + ['--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % (tmp_path / 'train')]
  tasks(ports, 3, 'ps', 0, *flags).wait_for('until 3 worker(s) are done', timeout=240)
  gives_up = tasks(ports, 3, 'worker', 1, '--startup_timeout_secs=3', *flags)
  waiting = tasks(ports, 3, 'worker', 2, *flags)
  waiting.wait_for('waiting for the chief', 'Waiting for model to be ready', timeout=240)
  os.kill(waiting.process.pid, signal.SIGTERM)
  status = waiting.status(10)
  assert status == 143, (status, waiting.output()[-3000:])
  assert waiting.output().strip().splitlines()[-1] == (
      'Received SIGTERM: worker 2 of 1 ps + 3 workers stops (the chief saves the checkpoints).')
  gives_up.wait_for(STARTED, timeout=240)
  assert_last_line(gives_up, gives_up.status(JOIN_SECS),
                   'worker 1 of 1 ps + 3 workers: the chief (worker 0, 127.0.0.1:%d) did not '
                   'initialise the variables within 3 s' % ports[1])
  assert not (tmp_path / 'train').exists()  # a worker but the chief writes nothing
