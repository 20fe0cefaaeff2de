"""How a worker joins a cluster's job, and how a worker other than the chief leaves it.

The job's signature is what must be the same on every worker: the net, the dataset's classes and
images, the image size, the precision, the optimisation settings, and the graph's variables. The
chief publishes it on ps task 0 once it has initialised (or restored) the variables; a worker
other than the chief waits for it (at most --startup_timeout_secs) and compares it with its own.
Without it such a worker waited for variables the chief never makes (another --model_name),
forever, or died at its first step on a shape (another dataset's classes); now it says what
differs in one line and exits 2.

Such a worker writes nothing (the chief saves the checkpoints), so a signal ends it at once,
even while it is blocked in TensorFlow (waiting for a ps that is not up).
"""
import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
import time

import tensorflow as tf
from absl import logging

from base import UserError
from nets import nets_factory
from rundir import run_info
from training import cluster as cluster_lib
from training import optimization

_VARIABLE = 'cluster_job_signature'  # on ps task 0, outside every collection (never saved)
# Settings that change what a worker computes or the variables it shares: each must be the chief's.
FLAGS = ('model_name', 'dataset_split_name', 'batch_size', 'max_number_of_steps', 'optimizer',
         'learning_rate', 'learning_rate_decay_type', 'learning_rate_decay_factor',
         'end_learning_rate', 'num_epochs_per_decay', 'warmup_epochs', 'weight_decay',
         'label_smoothing', 'moving_average_decay', 'clip_gradient_norm', 'trainable_scopes',
         'precision', 'sync_replicas', 'replicas_to_aggregate')
CLASSES, CLASS_NAMES, IMAGES, VARIABLES = 'classes', 'class names', 'images', 'variables'


def _digest(lines):
  return hashlib.sha256('\n'.join(lines).encode('utf-8')).hexdigest()[:16]


def signature(config, num_classes, class_names, num_samples, variables):
  """{item: text} of this task's job: the FLAGS (as '--name'), the image size the net is given,
  the optimizer's parameters, the dataset's class count, names and images, and the variables'
  names, shapes and types (digests: the size stays the same at any class count)."""
  items = {'--' + name: str(getattr(config, name)) for name in FLAGS}
  items['--train_image_size'] = str(nets_factory.image_size(config.model_name,
                                                            config.train_image_size))
  params = dict(optimization.OPTIMIZER_PARAMS[config.optimizer])
  params.update((k, v) for k, v in config.optimizer_params.items() if k in params)
  items.update(('--' + name, str(value)) for name, value in params.items())
  items[CLASSES] = str(num_classes)
  items[CLASS_NAMES] = run_info.classes_digest(class_names)[:16]  # as run.json records them
  items[IMAGES] = str(num_samples)
  items[VARIABLES] = _digest(sorted('%s %s %s' % (v.op.name, v.shape, v.dtype.base_dtype.name)
                                    for v in variables))
  return items


def differences(ours, chiefs):
  """What differs between this task's signature and the chief's, in words ('' when nothing)."""
  if set(ours) != set(chiefs):
    return 'the chief runs another version of this code (its job has other settings)'
  said = []
  for item in ours:
    mine, theirs = ours[item], chiefs[item]
    if mine == theirs or item == VARIABLES:
      continue
    if item.startswith('--'):
      said.append('%s=%s here, %s on the chief' % (item, mine, theirs))
    elif item == CLASSES:
      said.append('the dataset has %s classes here, %s on the chief' % (mine, theirs))
    elif item == CLASS_NAMES and ours[CLASSES] == chiefs[CLASSES]:
      said.append('the dataset\'s class names differ from the chief\'s')
    elif item == IMAGES:
      said.append('the split has %s images here, %s on the chief' % (mine, theirs))
  if not said and ours[VARIABLES] != chiefs[VARIABLES]:
    said.append('the graph\'s variables differ from the chief\'s (another version of this code?)')
  return '; '.join(said)


def _signature_variable():
  with tf.device('/job:ps/task:0'):
    return tf.compat.v1.Variable('', name=_VARIABLE, collections=[], trainable=False,
                                 use_resource=True)


def publish(target, session_config, items):
  """The chief's: its job's signature to ps task 0 (once the variables are ready)."""
  with tf.Graph().as_default():
    variable = _signature_variable()
    assign = variable.assign(json.dumps(items))
    with tf.compat.v1.Session(target, config=session_config) as sess:
      sess.run(assign.op)


def publishes(step_fn, publish_fn):
  """slim's train_step_fn `step_fn`, calling publish_fn() before its first step: slim calls it
  once the chief's session has initialised or restored the variables."""
  published = []

  def step(*args):
    if not published:
      publish_fn()
      published.append(True)
    return step_fn(*args)
  return step


def wait_for_chief(cluster, target, session_config, items, timeout_secs, poll_secs=1.0,
                   exit_fn=cluster_lib.exit_at_once):
  """A worker other than the chief: waits until the chief has published its job's signature,
  and returns when it is this task's; a UserError naming what differs when not. After
  timeout_secs, exit_fn(one line) ends the process, even while a call blocks (TensorFlow's session
  waits for a ps that is not up with no limit of its own)."""
  chief = 'the chief (worker 0, %s)' % cluster.worker_hosts[0]
  logging.info('%s: waiting for %s to initialise the variables (at most %d s: '
               '--startup_timeout_secs).', cluster.describe(), chief, timeout_secs)
  answered = threading.Event()  # the ps tasks answered: the session is up

  def give_up():
    if answered.is_set():
      why = '%s did not initialise the variables within %d s; start it' % (chief, timeout_secs)
    else:
      why = ('no answer from the ps task(s) %s within %d s; start them'
             % (', '.join(cluster.ps_hosts), timeout_secs))
    exit_fn('%s: %s, or give --startup_timeout_secs more time' % (cluster.describe(), why))
  watchdog = threading.Timer(timeout_secs, give_up)
  watchdog.daemon = True
  watchdog.start()
  try:
    with tf.Graph().as_default():
      variable = _signature_variable()
      ready, value = tf.compat.v1.is_variable_initialized(variable), variable.read_value()
      with tf.compat.v1.Session(target, config=session_config) as sess:
        while not sess.run(ready):
          answered.set()
          time.sleep(poll_secs)
        chiefs = json.loads(sess.run(value).decode('utf-8'))
  finally:
    watchdog.cancel()
  problem = differences(items, chiefs)
  if problem:
    raise UserError('%s cannot join the chief\'s job: %s; give it the chief\'s flags and dataset'
                    % (cluster.describe(), problem))
  logging.info('%s: the chief\'s variables are ready; joining.', cluster.describe())


def _ignore(signum, frame):
  del signum, frame


@contextlib.contextmanager
def leaves_at_once(cluster, statuses, exit_fn=os._exit):  # pylint: disable=protected-access
  """Within: a signal in `statuses` ({signum: exit status}) ends this worker (not the chief: it
  saves nothing) with a line saying so and exit_fn(status), at once. Python runs a handler only
  between the main thread's bytecodes, never while TensorFlow blocks it, so a thread woken by
  signal.set_wakeup_fd ends the process."""
  read, write = os.pipe()
  os.set_blocking(write, False)
  previous = {signum: signal.signal(signum, _ignore) for signum in statuses}
  previous_fd = signal.set_wakeup_fd(write)

  def watch():
    while True:
      data = os.read(read, 1)
      if not data:  # closed: the block is over
        return
      if data[0] in statuses:
        logging.info('Received %s: %s stops (the chief saves the checkpoints).',
                     signal.Signals(data[0]).name, cluster.describe())
        sys.stderr.flush()
        exit_fn(statuses[data[0]])
        return
  watcher = threading.Thread(target=watch, daemon=True, name='leaves_at_once')
  watcher.start()
  try:
    yield
  finally:
    signal.set_wakeup_fd(previous_fd)
    for signum, handler in previous.items():
      signal.signal(signum, handler)
    os.close(write)
    watcher.join()
    os.close(read)
