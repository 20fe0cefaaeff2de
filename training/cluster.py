"""Training across machines on TensorFlow's own gRPC runtime, the research/slim way.

A cluster is ps tasks (they hold the variables) and worker tasks (each runs the net on its own
batches); worker 0 is the chief (checkpoints, summaries, initialisation). The roles come from
--job_name/--task/--ps_hosts/--worker_hosts, or from TF_CONFIG as Kubernetes' TFJob sets it;
`resolve` turns either into a Cluster. The pieces here are what a process needs beyond the
single-process trainer: its server, where its ops go, and the end of the job (a ps serves until
every worker has said it is done, then returns, so a job completes).
"""
import contextlib
import dataclasses
import errno
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
from typing import Tuple

import tensorflow as tf
from absl import logging

from base import UserError

JOBS = ('ps', 'worker')
_HOST_PORT = re.compile(r'^[A-Za-z0-9_.\-\[\]:]+:(\d{1,5})$')
_DONE_QUEUE = 'cluster_done_%d'  # the shared name of ps task i's queue of finished workers
LOST_EXIT_SECS = 10  # after a lost ps: how long the session may take to close before we exit
LOST_STATUS = 2


@dataclasses.dataclass(frozen=True)
class Cluster:
  """This process's role in a cluster of ps and worker tasks."""
  job_name: str              # 'ps' or 'worker'
  task_index: int
  ps_hosts: Tuple[str, ...]
  worker_hosts: Tuple[str, ...]

  @property
  def is_chief(self):
    return self.job_name == 'worker' and self.task_index == 0

  @property
  def num_workers(self):
    return len(self.worker_hosts)

  @property
  def num_ps(self):
    return len(self.ps_hosts)

  @property
  def address(self):
    """This task's host:port."""
    return (self.ps_hosts if self.job_name == 'ps' else self.worker_hosts)[self.task_index]

  @property
  def port(self):
    return int(self.address.rsplit(':', 1)[1])

  @property
  def device(self):
    return '/job:%s/task:%d' % (self.job_name, self.task_index)

  def cluster_spec(self):
    return tf.train.ClusterSpec({'ps': list(self.ps_hosts), 'worker': list(self.worker_hosts)})

  def describe(self):
    return '%s %d of %d ps + %d workers%s' % (
        self.job_name, self.task_index, self.num_ps, self.num_workers,
        ' (chief)' if self.is_chief else '')


def _check_hosts(hosts, name):
  hosts = tuple(h.strip() for h in hosts if h.strip())
  if not hosts:
    raise UserError('%s lists no host:port' % name)
  for host in hosts:
    found = _HOST_PORT.match(host)
    if not found or not 1 <= int(found.group(1)) <= 65535:
      raise UserError('%s: "%s" is not host:port (a port from 1 to 65535)' % (name, host))
  if len(set(hosts)) != len(hosts):
    raise UserError('%s lists an address twice' % name)
  return hosts


def _make(job_name, task_index, ps_hosts, worker_hosts, source):
  if job_name not in JOBS:
    raise UserError('%s: the job must be ps or worker, got "%s"' % (source, job_name))
  ps_hosts = _check_hosts(ps_hosts, source + ' ps hosts')
  worker_hosts = _check_hosts(worker_hosts, source + ' worker hosts')
  if set(ps_hosts) & set(worker_hosts):
    raise UserError('%s: ps and worker tasks share an address' % source)
  hosts = ps_hosts if job_name == 'ps' else worker_hosts
  if not isinstance(task_index, int) or not 0 <= task_index < len(hosts):
    raise UserError('%s: task %s of job %s does not exist (it has %d task(s))'
                    % (source, task_index, job_name, len(hosts)))
  return Cluster(job_name, task_index, ps_hosts, worker_hosts)


def from_tf_config(text):
  """The Cluster of a TF_CONFIG value ({"cluster": {...}, "task": {"type", "index"}}). A "chief"
  job (TFJob's Chief replica) is worker 0, its workers follow; "environment" is ignored."""
  source = 'TF_CONFIG'
  try:
    config = json.loads(text)
  except ValueError as e:
    raise UserError('TF_CONFIG is not JSON (%s)' % e) from None
  if not isinstance(config, dict):
    raise UserError('TF_CONFIG must be a JSON object with "cluster" and "task"')
  spec, task = config.get('cluster'), config.get('task')
  if not isinstance(spec, dict) or not isinstance(task, dict):
    raise UserError('TF_CONFIG needs a "cluster" object and a "task" object, got %s'
                    % (', '.join('"%s"' % key for key in sorted(config)) or 'neither'))
  for job, hosts in spec.items():
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
      raise UserError('TF_CONFIG cluster job "%s" must be a list of "host:port" strings' % job)
  unknown = set(spec) - {'ps', 'worker', 'chief', 'evaluator'}
  if unknown:
    raise UserError('TF_CONFIG names job(s) %s; this trainer knows chief, worker, ps, evaluator'
                    % ', '.join(sorted(unknown)))
  task_type, index = task.get('type'), task.get('index', 0)
  if task_type == 'evaluator':
    raise UserError('TF_CONFIG makes this task the evaluator: run eval_alexnet.py there')
  if not isinstance(index, int) or isinstance(index, bool):
    raise UserError('TF_CONFIG task index must be an integer, got %r' % (index,))
  chief, workers = spec.get('chief', []), spec.get('worker', [])
  if len(chief) > 1:
    raise UserError('TF_CONFIG lists %d chiefs; there can be one' % len(chief))
  if task_type in ('chief', 'worker'):
    hosts = chief if task_type == 'chief' else workers
    if not 0 <= index < len(hosts):
      raise UserError('TF_CONFIG: task %d of job %s does not exist (it has %d task(s))'
                      % (index, task_type, len(hosts)))
    task_type, index = 'worker', index + (len(chief) if task_type == 'worker' else 0)
  return _make(task_type, index, spec.get('ps', []), chief + workers, source)


def resolve(job_name='', task_index=0, ps_hosts=(), worker_hosts=(), tf_config=None):
  """The Cluster of this process, or None for a single process. The flags win over TF_CONFIG
  (`tf_config`: its text, or None); UserError (one line) for roles that cannot work."""
  if job_name or ps_hosts or worker_hosts or task_index:  # (--task alone: not ignored)
    missing = [name for name, value in (('--job_name', job_name), ('--ps_hosts', ps_hosts),
                                        ('--worker_hosts', worker_hosts)) if not value]
    if missing:
      raise UserError('a cluster needs --job_name, --ps_hosts and --worker_hosts; missing %s'
                      % ', '.join(missing))
    return _make(job_name, task_index, ps_hosts, worker_hosts, '--job_name/--task')
  if tf_config and tf_config.strip():
    return from_tf_config(tf_config)
  return None


def replicas_to_aggregate(cluster, requested):
  """--replicas_to_aggregate, where 0 means every worker."""
  if requested < 0:
    raise UserError('--replicas_to_aggregate must be >= 0 (0: every worker), got %d' % requested)
  return requested or cluster.num_workers


# --- the processes -----------------------------------------------------------------------------

def session_config(cluster, config):
  """`config` (a ConfigProto) with device filters: a ps sees only the ps tasks, a worker the ps
  tasks and itself (else a ps may probe a worker before it listens and stay in gRPC back-off)."""
  config.device_filters[:] = ['/job:ps']
  if cluster.job_name == 'worker':
    config.device_filters.append(cluster.device)
  return config


@contextlib.contextmanager
def _stderr_held():
  """Holds what is written to file descriptor 2 (gRPC's C++ log lines among it) while the block
  runs, and writes it out after, unless the block raised a UserError, whose one line says it."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as held:
    os.dup2(held.fileno(), 2)
    told = False
    try:
      yield
    except UserError:
      told = True
      raise
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      if not told:
        held.seek(0)
        data = held.read()
        while data:
          data = data[os.write(2, data):]


def listen_problem(port):
  """Why nothing can listen on this port on every interface, as TensorFlow's server does (a
  probe socket's error, in words), or None when a probe can."""
  for family, host in ((socket.AF_INET, '0.0.0.0'), (socket.AF_INET6, '::')):
    try:
      with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC
        probe.bind((host, port))
    except OSError as e:
      if e.errno == errno.EADDRINUSE:
        return ('the port is in use, by another program or a task of an earlier job still '
                'running (ss -ltnp \'sport = :%d\' shows which)' % port)
      if e.errno == errno.EACCES:
        return 'listening there needs privileges (a port below 1024)'
      if e.errno != errno.EAFNOSUPPORT:  # (no IPv6 here)
        return os.strerror(e.errno) if e.errno else str(e)
  return None


def start_server(cluster, config=None):
  """This task's tf.distribute.Server, started; UserError (one line naming the port) when it
  cannot listen there: the port taken, say, where TensorFlow logs a dozen lines and raises
  "Could not start gRPC server"."""
  config = session_config(cluster, config or tf.compat.v1.ConfigProto())
  with _stderr_held():
    try:
      return tf.distribute.Server(cluster.cluster_spec(), job_name=cluster.job_name,
                                  task_index=cluster.task_index, config=config, start=True)
    except tf.errors.UnknownError as e:
      if 'Could not start gRPC server' not in str(e):
        raise
      raise UserError('%s cannot listen on port %d (its address %s): %s; stop that, or give '
                      'this task another port' % (
                          cluster.describe(), cluster.port, cluster.address,
                          listen_problem(cluster.port) or 'gRPC could not start a server there')
                      ) from None


def variable_bytes(op):
  """The bytes of a variable op's value (0 when its shape is not fully known)."""
  try:
    shape = tf.TensorShape(op.get_attr('shape'))
    dtype = tf.as_dtype(op.get_attr('dtype'))
  except ValueError:
    return 0
  return shape.num_elements() * dtype.size if shape.is_fully_defined() else 0


class GreedyByBytes:
  """A replica_device_setter ps_strategy: each variable to the ps task holding the fewest bytes
  so far (round-robin by count would put fc6, 26M of AlexNet's 46M parameters, beside others)."""

  def __init__(self, num_tasks):
    self.loads = [0] * num_tasks

  def __call__(self, op):
    task = min(range(len(self.loads)), key=self.loads.__getitem__)
    self.loads[task] += variable_bytes(op)
    return task


def device_setter(cluster):
  """Variables on the ps tasks (by size), every other op on this worker."""
  return tf.compat.v1.train.replica_device_setter(
      ps_tasks=cluster.num_ps, worker_device=cluster.device, cluster=cluster.cluster_spec(),
      ps_strategy=GreedyByBytes(cluster.num_ps))


def _done_queue(ps_task, num_workers):
  with tf.device('/job:ps/task:%d' % ps_task):
    return tf.queue.FIFOQueue(num_workers, tf.int32, shapes=[], shared_name=_DONE_QUEUE % ps_task,
                              name='done_queue_%d' % ps_task)


def serve_ps(cluster, poll_secs=0.5):
  """Runs ps task `cluster.task_index` until every worker has reported done; returns 0 then, or
  130 after Ctrl-C (it polls the queue of finished workers: a blocking dequeue would not let
  Python see the signal)."""
  try:
    server = start_server(cluster)
    logging.info('ps %d serving at %s until %d worker(s) are done.', cluster.task_index,
                 cluster.ps_hosts[cluster.task_index], cluster.num_workers)
    with tf.Graph().as_default():
      done = _done_queue(cluster.task_index, cluster.num_workers)
      size, dequeue = done.size(), done.dequeue_many(cluster.num_workers)
      with tf.compat.v1.Session(server.target, config=session_config(
          cluster, tf.compat.v1.ConfigProto())) as sess:
        while sess.run(size) < cluster.num_workers:
          time.sleep(poll_secs)
        workers = sess.run(dequeue)
  except KeyboardInterrupt:
    logging.info('ps %d stopped (Ctrl-C) before every worker was done.', cluster.task_index)
    return 130
  logging.info('ps %d: workers %s are done; stopping.', cluster.task_index,
               ', '.join(str(w) for w in sorted(workers)))
  return 0


def report_done(cluster, server):
  """Tells every ps task that this worker has finished (so they can stop)."""
  with tf.Graph().as_default():
    enqueues = [_done_queue(i, cluster.num_workers).enqueue(cluster.task_index)
                for i in range(cluster.num_ps)]
    with tf.compat.v1.Session(server.target, config=session_config(
        cluster, tf.compat.v1.ConfigProto())) as sess:
      sess.run(enqueues)


def lost_message(error, cluster, newest_checkpoint):
  """One line for a worker that lost a ps task mid-run (TensorFlow's UnavailableError)."""
  found = re.search(r'/job:ps/replica:\d+/task:(\d+)', str(error))
  if found and int(found.group(1)) < cluster.num_ps:
    task = int(found.group(1))
    lost = 'ps task %d (%s)' % (task, cluster.ps_hosts[task])
  else:
    lost = 'a ps task (%s)' % ', '.join(cluster.ps_hosts)
  return ('%s lost the connection to %s, which holds the variables; restart the job: the chief '
          'resumes from the newest checkpoint (%s)'
          % (cluster.describe(), lost, newest_checkpoint or 'none yet, so from step 0'))


def exit_at_once(message):
  """The line 'error: <message>' on stderr, then the end of the process with LOST_STATUS (2), at
  once: no session to close first (closing one whose ps is gone never returns)."""
  print('error: %s' % message, file=sys.stderr)
  sys.stderr.flush()
  os._exit(LOST_STATUS)  # pylint: disable=protected-access


def exits_when_lost(step_fn, message_fn, delay_secs=LOST_EXIT_SECS, exit_fn=exit_at_once):
  """slim's train_step_fn `step_fn`, but when a step loses the cluster (a ps killed: TensorFlow's
  UnavailableError), the process ends with one line (message_fn(error)) and LOST_STATUS if it
  has not ended by itself within delay_secs: closing a session whose ps is gone never returns.
  exit_fn(message) ends it (exit_at_once: the line, then the process)."""
  def step(*args):
    try:
      return step_fn(*args)
    except tf.errors.UnavailableError as e:
      message = message_fn(e)
      timer = threading.Timer(delay_secs, exit_fn, (message,))
      timer.daemon = True
      timer.start()
      raise
  return step
