"""One task of a tiny cluster for tests/e2e/test_cluster.py, run by training.local_cluster:

  python tests/support/cluster_probe.py [--sync] STEPS OUT_JSON

Trains, the way the trainer does in a cluster (cluster.py's server, device setter and end of the
job, compat's Supervisor and SyncReplicasOptimizer, steps.StepFunction, slim.learning.train),
a variable whose gradient names its worker: worker i's loss is applied[i], so every gradient of
worker i that is applied adds 1 to applied[i] (a learning rate of -1, or -replicas with sync
replicas, which average the gradients). The chief writes the counts and the global step to
OUT_JSON once every worker has finished (and its checkpoints to OUT_JSON.train).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import tensorflow as tf  # noqa: E402
import tf_slim as slim  # noqa: E402

import compat  # noqa: E402
from training import cluster as cluster_lib  # noqa: E402
from training import cluster_roles  # noqa: E402
from training.steps import StepFunction  # noqa: E402


def main(argv):
  sync = '--sync' in argv
  steps, out = [int(a) if a.isdigit() else a for a in argv if a != '--sync']
  tf.compat.v1.disable_eager_execution()
  roles = cluster_roles.resolve(tf_config=os.environ['TF_CONFIG'])
  if roles.job_name == 'ps':
    return cluster_lib.serve_ps(roles)
  n = roles.num_workers
  config = cluster_lib.session_config(roles, tf.compat.v1.ConfigProto())
  server = cluster_lib.start_server(roles, config)
  with tf.Graph().as_default(), tf.compat.v1.device(cluster_lib.device_setter(roles)):
    global_step = tf.compat.v1.train.get_or_create_global_step()
    zeros = tf.compat.v1.zeros_initializer()
    applied = tf.compat.v1.get_variable('applied', [n], initializer=zeros)
    joined = tf.compat.v1.get_variable('joined', [], tf.int32, zeros, trainable=False)
    finished = tf.compat.v1.get_variable('finished', [], tf.int32, zeros, trainable=False)
    loss = tf.reduce_sum(applied * tf.one_hot(roles.task_index, n))
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(-float(n if sync else 1))
    if sync:
      optimizer = compat.SyncReplicasOptimizer(optimizer, n, n)
    train_op = optimizer.minimize(loss, global_step=global_step)
    join, finish = joined.assign_add(1), finished.assign_add(1)
    step_fn = StepFunction({}, 1, steps, 10 ** 6)
    step_fn.in_cluster = True
    if sync:
      step_fn.release_op = optimizer.get_init_tokens_op(n)

    def step(sess, op, gs, kwargs):
      if step_fn.step is None:  # a start barrier: every worker takes part
        sess.run(join)
        while sess.run(joined) < n:
          time.sleep(0.05)
      time.sleep(0.05)
      return step_fn(sess, op, gs, kwargs)

    with compat.prompt_supervisor():
      # a logdir, as the trainer's: only then does the chief's end ignore the live sync thread
      slim.learning.train(train_op, logdir=out + '.train', train_step_fn=step,
                          train_step_kwargs={}, number_of_steps=steps, session_config=config,
                          master=server.target, is_chief=roles.is_chief,
                          sync_optimizer=optimizer if sync else None,
                          ignore_live_threads=sync)
    with tf.compat.v1.Session(server.target, config=config) as sess:
      sess.run(finish)
      while roles.is_chief and sess.run(finished) < n:
        time.sleep(0.05)
      if roles.is_chief:
        counts, step = sess.run([applied, global_step])
        with open(out, 'w') as f:
          json.dump({'applied': counts.tolist(), 'global_step': int(step)}, f)
  cluster_lib.report_done(roles, server)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
