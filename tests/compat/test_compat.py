"""compat: each workaround, and the upstream failure (tf-slim 1.1.0 on TF 2.21) it works around.

When a test of an upstream failure fails, upstream works again and the workaround can go.
"""
import contextlib
import threading
import time

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat
from datasets import flowers
from training import gradients


def initialized_session():
  sess = tf.compat.v1.Session()
  sess.run(tf.compat.v1.global_variables_initializer())
  return sess


# --- gradient transforms ----------------------------------------------------------------------

def _gradient_graph():
  w = tf.compat.v1.get_variable('w', initializer=tf.constant([[3.0, 4.0]]))
  loss = tf.reduce_sum(w * w)
  return w, loss, tf.compat.v1.train.GradientDescentOptimizer(0.1)


def test_tf_slim_gradient_clipping_is_broken_and_ours_clips():
  with tf.Graph().as_default():
    w, loss, opt = _gradient_graph()
    grads = opt.compute_gradients(loss)
    with pytest.raises(AttributeError, match='IndexedSlices'):
      slim.learning.clip_gradient_norms(grads, 1.0)
    clipped = compat.clip_gradient_norms(grads, 1.0)
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      assert np.linalg.norm(sess.run(clipped[0][0])) == pytest.approx(1.0)


def test_tf_slim_gradient_multipliers_are_broken_and_ours_scale():
  with tf.Graph().as_default():
    w, loss, opt = _gradient_graph()
    with pytest.raises(AttributeError):
      slim.learning.create_train_op(loss, opt, gradient_multipliers={w: 2.0})
    scaled = compat.multiply_gradients(opt.compute_gradients(loss), {'w': 2.0})
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      np.testing.assert_allclose(sess.run(scaled[0][0]), [[12.0, 16.0]])


def test_tf_slim_gradient_summaries_are_broken_and_ours_work():
  with tf.Graph().as_default():
    w, loss, opt = _gradient_graph()
    tf.compat.v1.train.get_or_create_global_step()
    with pytest.raises(AttributeError):
      slim.learning.create_train_op(loss, opt, summarize_gradients=True)
    compat.create_train_op(loss, opt, clip_gradient_norm=1.0,
                           transform_grads_fn=gradients.transform(loss, summarize_gradients=True))
    summaries = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.SUMMARIES)
    tags = {tf.get_static_value(op.op.inputs[0]).item().decode() for op in summaries}
    assert tags == {'gradients/w', 'gradient_norms/w'}
    assert {op.name.split('/')[0] for op in summaries} == {'summaries'}


def test_a_non_finite_loss_stops_the_step_before_the_weights_change():
  with tf.Graph().as_default():
    w, _, opt = _gradient_graph()
    scale = tf.compat.v1.placeholder(tf.float32, [])
    loss = tf.reduce_sum(w * w) * scale
    tf.compat.v1.train.get_or_create_global_step()
    train_op = compat.create_train_op(loss, opt, transform_grads_fn=gradients.transform(loss))
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(train_op, {scale: 1.0})
      before = sess.run(w)
      with pytest.raises(tf.errors.InvalidArgumentError, match='inf or nan'):
        sess.run(train_op, {scale: np.inf})
      np.testing.assert_array_equal(sess.run(w), before)


# --- batch norm -------------------------------------------------------------------------------

@pytest.mark.parametrize('updates_collections', ['update_ops', ['update_ops']])
def test_slim_batch_norm_fails_on_this_tensorflow(updates_collections):
  # Why compat has its own batch_norm; when this fails, slim.batch_norm works again.
  with tf.Graph().as_default():
    with pytest.raises((ImportError, AttributeError)):
      slim.batch_norm(tf.zeros([2, 3, 3, 4]), updates_collections=updates_collections)


def test_batch_norm_normalizes_with_batch_statistics_in_training():
  with tf.Graph().as_default():
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.normal(3.0, 2.0, (4, 5, 5, 8)).astype(np.float32))
    outputs = compat.batch_norm(inputs, is_training=True)
    with initialized_session() as sess:
      values = sess.run(outputs)
  np.testing.assert_allclose(values.mean(axis=(0, 1, 2)), 0, atol=1e-4)
  np.testing.assert_allclose(values.std(axis=(0, 1, 2)), 1, atol=1e-2)


def test_batch_norm_uses_moving_statistics_at_eval():
  with tf.Graph().as_default():
    inputs = tf.fill([2, 3, 3, 4], 5.0)
    outputs = compat.batch_norm(inputs, is_training=False, epsilon=0.001)
    with initialized_session() as sess:
      values = sess.run(outputs)
  np.testing.assert_allclose(values, 5.0 / np.sqrt(1.001), rtol=1e-5)


def test_batch_norm_update_moves_averages_by_one_minus_decay():
  with tf.Graph().as_default():
    outputs = compat.batch_norm(tf.fill([2, 3, 3, 4], 5.0), decay=0.9, is_training=True)
    moving_mean = slim.get_variables('BatchNorm/moving_mean')[0]
    moving_variance = slim.get_variables('BatchNorm/moving_variance')[0]
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with initialized_session() as sess:
      sess.run([outputs] + update_ops)
      mean, variance = sess.run([moving_mean, moving_variance])
  np.testing.assert_allclose(mean, 0.1 * 5.0, rtol=1e-5)
  np.testing.assert_allclose(variance, 0.9 * 1.0, rtol=1e-5)


@pytest.mark.parametrize('step, decay', [(0, 0.1), (990, 0.991), (10**6, 0.997)])
def test_batch_norm_averages_move_faster_in_a_run_s_first_steps(step, decay):
  # tf.train.ExponentialMovingAverage's num_updates rule, of the global step.
  with tf.Graph().as_default():
    global_step = tf.compat.v1.train.get_or_create_global_step()
    outputs = compat.batch_norm(tf.fill([2, 3, 3, 4], 5.0), decay=0.997, is_training=True)
    moving_mean = slim.get_variables('BatchNorm/moving_mean')[0]
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with initialized_session() as sess:
      sess.run(global_step.assign(step))
      sess.run([outputs] + update_ops)
      mean = sess.run(moving_mean)
  np.testing.assert_allclose(mean, (1.0 - decay) * 5.0, rtol=1e-4)


def test_batch_norm_with_training_tensor_follows_its_value():
  with tf.Graph().as_default():
    is_training = tf.compat.v1.placeholder(tf.bool, [])
    outputs = compat.batch_norm(tf.fill([2, 3, 3, 4], 5.0), is_training=is_training)
    moving_mean = slim.get_variables('BatchNorm/moving_mean')[0]
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with initialized_session() as sess:
      evaluating, _ = sess.run([outputs, update_ops], {is_training: False})
      mean_after_eval = sess.run(moving_mean)
      training, _ = sess.run([outputs, update_ops], {is_training: True})
      mean_after_training = sess.run(moving_mean)
  np.testing.assert_allclose(evaluating, 5.0 / np.sqrt(1.001), rtol=1e-5)
  np.testing.assert_array_equal(mean_after_eval, 0)
  np.testing.assert_allclose(training, 0, atol=1e-4)
  assert np.all(mean_after_training > 0)


# --- reading records --------------------------------------------------------------------------

def test_tf_slim_image_handler_is_broken_on_this_tensorflow_and_ours_decodes(records_dataset):
  with tf.Graph().as_default():
    keys = {'image/encoded': tf.constant(b''), 'image/format': tf.constant(b'jpeg')}
    with pytest.raises(AttributeError, match='case'):
      slim.tfexample_decoder.Image().tensors_to_item(keys)
    dataset = flowers.get_split('validation', records_dataset[0])
    provider = slim.dataset_data_provider.DatasetDataProvider(dataset, shuffle=False)
    [image] = provider.get(['image'])
    with tf.compat.v1.train.MonitoredSession() as sess:
      assert sess.run(image).ndim == 3


# --- slim.learning.train in a cluster ---------------------------------------------------------

def test_slim_learning_train_supervisor_waits_long_and_prompt_supervisor_shortens_it():
  import inspect

  from tf_slim import learning as slim_learning
  assert not {'recovery_wait_secs', 'stop_grace_secs'} & set(
      inspect.signature(slim.learning.train).parameters)  # no way to pass them
  made = {}
  for name in ('upstream', 'prompt'):
    with tf.Graph().as_default() as graph:
      tf.compat.v1.get_variable('w', [1])
      context = compat.prompt_supervisor() if name == 'prompt' else contextlib.nullcontext()
      with context:
        made[name] = slim_learning.supervisor.Supervisor(graph=graph, logdir=None)
  assert (made['upstream']._recovery_wait_secs, made['upstream']._stop_grace_secs) == (30, 120)
  assert (made['prompt']._recovery_wait_secs, made['prompt']._stop_grace_secs) == (
      compat.RECOVERY_WAIT_SECS, compat.STOP_GRACE_SECS)
  assert slim_learning.supervisor.Supervisor is tf.compat.v1.train.Supervisor  # restored


def test_alone_the_supervisor_waits_long_at_a_clean_end_and_briefly_after_an_error():
  from tf_slim import learning as slim_learning
  with tf.Graph().as_default() as graph:
    tf.compat.v1.get_variable('w', [1])
    with compat.prompt_supervisor(in_cluster=False):
      supervisor = slim_learning.supervisor.Supervisor(graph=graph, logdir=None)
  assert supervisor._stop_grace_secs == 120  # a clean end: as upstream
  # A queue runner that could not start all its threads (ulimit -v) leaves the others blocked
  # on its queues: they stop only when the session closes, after the wait.
  release = threading.Event()
  blocked = threading.Thread(target=release.wait, daemon=True)
  supervisor.coord.register_thread(blocked)
  blocked.start()
  started = time.monotonic()
  with pytest.raises(RuntimeError, match="can't start new thread"):
    with supervisor.managed_session(''):
      raise RuntimeError("can't start new thread")
  assert time.monotonic() - started < 60  # STOP_GRACE_SECS, not 120
  assert supervisor._stop_grace_secs == compat.STOP_GRACE_SECS
  release.set()


@pytest.mark.parametrize('ours', [False, True])
def test_sync_chief_queue_runner_dies_loudly_at_session_close_and_ours_ends_quietly(ours):
  with tf.Graph().as_default():
    w = tf.compat.v1.get_variable('w', [1])
    global_step = tf.compat.v1.train.get_or_create_global_step()
    optimizer = compat.SyncReplicasOptimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1),
                                             replicas_to_aggregate=2, total_num_replicas=2)
    optimizer.apply_gradients(optimizer.compute_gradients(tf.reduce_sum(w)), global_step)
    optimizer.ready_for_local_init_op.mark_used()
    runner = (optimizer.get_chief_queue_runner() if ours else
              tf.compat.v1.train.SyncReplicasOptimizer.get_chief_queue_runner(optimizer))
    sess = tf.compat.v1.Session()
    sess.run([tf.compat.v1.global_variables_initializer(),
              tf.compat.v1.local_variables_initializer()])
    sess.run(optimizer.chief_init_op)
    coord = tf.train.Coordinator()
    threads = runner.create_threads(sess, coord, start=True)  # waits for 2 gradients
    sess.close()
    threads[0].join(10)  # the runner's thread ([1] closes its queue when the coord stops)
    assert not threads[0].is_alive()
    if ours:
      assert not coord.should_stop()  # ended as a closed queue does: no error reported
      coord.request_stop()
      coord.join(threads)
    else:
      with pytest.raises(tf.errors.CancelledError):
        coord.join(threads)
