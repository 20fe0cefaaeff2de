"""Training across machines on TensorFlow's own gRPC runtime, the research/slim way.

A cluster is ps tasks (they hold the variables) and worker tasks (each runs the net on its own
batches); worker 0 is the chief (checkpoints, summaries, initialisation). The roles come from
--job_name/--task/--ps_hosts/--worker_hosts, or from TF_CONFIG as Kubernetes' TFJob sets it;
training.cluster_roles turns either into a Cluster. The pieces here are what a process needs
beyond the single-process trainer: its server, where its ops go, and the end of the job (a ps
serves until every worker has said it is done, then returns, so a job completes).
"""
import contextlib
import errno
import os
import re
import socket
import sys
import tempfile
import threading
import time

import tensorflow as tf
from absl import logging

from base import UserError

_DONE_QUEUE = 'cluster_done_%d'  # the shared name of ps task i's queue of finished workers
LOST_EXIT_SECS = 10  # after a lost ps: how long the session may take to close before we exit
LOST_STATUS = 2


def cluster_spec(cluster):
  """The tf.train.ClusterSpec of a Cluster's hosts."""
  return tf.train.ClusterSpec({'ps': list(cluster.ps_hosts),
                               'worker': list(cluster.worker_hosts)})


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
      return tf.distribute.Server(cluster_spec(cluster), job_name=cluster.job_name,
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
      ps_tasks=cluster.num_ps, worker_device=cluster.device, cluster=cluster_spec(cluster),
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
