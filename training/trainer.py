"""Training: builds the graph from a TrainConfig and runs slim.learning.train over it."""
import collections
import contextlib
import dataclasses
import functools
import signal

import tensorflow as tf
import tf_slim as slim
from absl import logging

import base
import compat
from base import UserError
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import input_pipeline
from datasets import reader
from nets import nets_factory
from preprocessing import preprocessing_factory
from rundir import checkpoints
from rundir import run_info
from rundir import session
from summaries import run_start
from training import clones
from training import cluster as cluster_lib
from training import cluster_roles
from training import gradients
from training import joining
from training import optimization
from training import resources
from training import resume
from training import run_errors
from training import saving
from training import steps
from training import train_config
from training import train_summaries

# Exit statuses of an interrupted run (the checkpoint is saved first), as a shell reports them;
# SIGHUP is a closed terminal.
LOCK_FILENAME = '.train.lock'
INTERRUPT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


def _scoped_variables(scopes):
  if not scopes:
    return None
  variables = [v for v in tf.compat.v1.trainable_variables()
               if any(v.op.name.startswith(s.rstrip('/') + '/') for s in scopes)]
  if not variables:
    raise UserError('--trainable_scopes=%s matches no trainable variable' % ','.join(scopes))
  return variables


def build_input(config, dataset, add_image_summaries=False):
  """The training batch (dict of images, labels, filenames) of the configured pipeline."""
  image_size = nets_factory.image_size(config.model_name, config.train_image_size)
  preprocess = preprocessing_factory.get_jpeg_preprocessing(config.model_name, is_training=True)
  next_batch = input_pipeline.build_batches(
      dataset,
      lambda encoded: preprocess(encoded, image_size, image_size, fast_mode=config.fast_mode,
                                 decode_and_crop=config.decode_and_crop,
                                 min_crop_area=config.min_crop_area,
                                 add_image_summaries=add_image_summaries),
      config.batch_size, is_training=True, pipeline=config.input_pipeline,
      num_readers=config.num_readers,
      num_preprocessing_threads=config.num_preprocessing_threads, seed=_task_seed(config),
      deterministic=config.deterministic)
  return next_batch()


def _task_seed(config):
  """--seed, plus the worker's index in a cluster: each worker its own data order and
  augmentation (worker 0 as one process)."""
  return config.seed + (config.cluster.task_index if config.cluster else 0)


TrainOp = collections.namedtuple('TrainOp', [
    'train_op', 'global_step', 'model', 'total_loss', 'regularization', 'accuracy',
    'moving_accuracy', 'learning_rate', 'sync_optimizer'])


def build_train_op(config, images, labels, num_classes, num_samples):
  """The net on its clones, the losses, the update ops and the train op for a batch."""
  network_fn = nets_factory.get_network_fn(config.model_name, num_classes,
                                           weight_decay=config.weight_decay, is_training=True)
  devices = clones.clone_devices(config.num_clones, config.clone_on_cpu, session.num_gpus())
  # In a cluster the variables go to the ps tasks' CPUs (cluster.device_setter adds the task).
  variables_device = '/cpu:0' if config.cluster else clones.variables_device(devices)
  with tf.device(variables_device):
    global_step = tf.compat.v1.train.get_or_create_global_step()
  model = clones.build_clones(network_fn, images, labels, num_classes, devices,
                              config.label_smoothing, variables_device)
  # The weight decay goes into the gradients (gradients.add_regularization_gradients), so the
  # step differentiates the cross entropy alone; the regularization and the total are reported
  # (summaries, progress lines) and computed only when those fetch them.
  with tf.name_scope(model.scope):  # (in TensorBoard's graph, with the clone's other losses)
    regularization = clones.regularization_loss()
    total_loss = tf.add(model.cross_entropy, regularization, name='total_loss')
  with tf.name_scope('train_accuracy'):  # (one node in TensorBoard's graph)
    accuracy = clones.batch_accuracy(model.logits, model.labels)
    moving_accuracy, accuracy_update = clones.moving_average_update(accuracy, 0.98,
                                                                   'moving_train_accuracy')
  update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, model.scope)
  update_ops.append(accuracy_update)
  averages = None
  if config.moving_average_decay:
    averages = tf.train.ExponentialMovingAverage(config.moving_average_decay, global_step)
    if not config.sync_replicas:  # else the sync optimizer applies them, once per global step
      update_ops.append(averages.apply(slim.get_model_variables()))

  steps_per_epoch = max(1, num_samples // (config.batch_size * _batches_per_step(config)))
  learning_rate = optimization.learning_rate(
      global_step, config.learning_rate, config.learning_rate_decay_type, steps_per_epoch,
      config.num_epochs_per_decay, config.learning_rate_decay_factor, config.end_learning_rate,
      config.max_number_of_steps, config.warmup_epochs)
  optimizer = optimization.optimizer(config.optimizer, learning_rate, config.optimizer_params)
  sync_optimizer = None
  if config.sync_replicas:
    optimizer = sync_optimizer = compat.SyncReplicasOptimizer(
        optimizer, _batches_per_step(config), config.cluster.num_workers,
        variable_averages=averages,
        variables_to_average=slim.get_model_variables() if averages else None)
  train_op = compat.create_train_op(
      model.cross_entropy, optimizer, global_step=global_step, update_ops=update_ops,
      variables_to_train=_scoped_variables(config.trainable_scopes),
      transform_grads_fn=gradients.transform(
          model.cross_entropy, summarize_gradients=config.summarize_gradients,
          regularization_losses=tf.compat.v1.losses.get_regularization_losses(),
          clip_gradient_norm=config.clip_gradient_norm))
  return TrainOp(train_op, global_step, model, total_loss, regularization, accuracy,
                 moving_accuracy, learning_rate, sync_optimizer)


def _batches_per_step(config):
  """The batches one global step learns from: the replicas aggregated with sync replicas."""
  if not config.sync_replicas:
    return 1
  return cluster_roles.replicas_to_aggregate(config.cluster, config.replicas_to_aggregate)


def build_graph(config, dataset):
  """Input, clones, losses, train op and summaries in the default graph; returns the train op,
  the global step, the tensors the step function logs and the sync optimizer (None unless
  --sync_replicas)."""
  # Stage summaries only work in the queue pipeline (tf.data maps run in a function graph).
  batch = build_input(config, dataset, add_image_summaries=config.input_pipeline == 'queue')
  built = build_train_op(config, batch['images'], batch['labels'], dataset.num_classes,
                         dataset.num_samples)
  train_summaries.add(config, dataset, built)
  return built.train_op, built.global_step, {'loss': built.total_loss,
                                             'accuracy': built.accuracy,
                                             'learning_rate': built.learning_rate}, \
      built.sync_optimizer


def _check_resources(config, num_classes):
  """config with the thread counts capped; UserError when a batch cannot fit in memory."""
  image_size = nets_factory.image_size(config.model_name, config.train_image_size)
  per_image = resources.bytes_per_image(config.model_name, image_size, num_classes)
  resources.check_batch_fits(config.batch_size, per_image, resources.available_memory_bytes())
  return dataclasses.replace(
      config, num_readers=resources.capped_threads(config.num_readers, 'num_readers'),
      num_preprocessing_threads=resources.capped_threads(config.num_preprocessing_threads,
                                                         'num_preprocessing_threads'))


def start_line(config, dataset, num_gpus):
  """What will run where: the net, the data, the devices, the steps and epochs."""
  if num_gpus == 0:
    devices = 'CPU only: no GPU visible (see GPUs in README.md)'
    if config.num_clones > 1 and not config.clone_on_cpu:
      devices += '; --num_clones=%d runs as clones on the CPU' % config.num_clones
  else:
    devices = '%d of %d GPU(s)' % (1 if config.clone_on_cpu else config.num_clones, num_gpus)
    if config.clone_on_cpu:
      devices = 'the CPU (--clone_on_cpu) with %d GPU(s) visible' % num_gpus
  if config.precision != 'fp32':
    devices += ' in %s mixed precision' % config.precision
  images_per_step = config.batch_size * _batches_per_step(config)  # (a sync step: all workers')
  steps_per_epoch = max(1, dataset.num_samples // images_per_step)  # as the schedule counts
  until = 'until stopped'
  if config.max_number_of_steps:
    until = 'to step %d (%.1f epochs)' % (
        config.max_number_of_steps,
        config.max_number_of_steps * images_per_step / dataset.num_samples)
  if config.deterministic:
    until += '; deterministic (seed %d): the same weights from the same flags' % config.seed
  return ('Training %s on %d %s images of %s (%d classes) on %s; batch %d, %d steps per epoch, '
          '%s.' % (config.model_name, dataset.num_samples, config.dataset_split_name,
                   config.dataset_name, dataset.num_classes, devices, config.batch_size,
                   steps_per_epoch, until))


def _dataset_text(config, dataset):
  """The split's images per class (from the converter's manifest, when there is one)."""
  manifest = dataset_utils.read_manifest(config.dataset_dir) or {}
  per_class = manifest.get('splits', {}).get(config.dataset_split_name, {}).get('per_class')
  if not per_class:
    per_class = dict.fromkeys(base.class_names(dataset.labels_to_names, dataset.num_classes), '?')
  return run_start.dataset_markdown(config.dataset_split_name, dataset.num_samples, per_class)


def _init_fn(config, resume_from, class_names, check_resumable):
  """The fine-tuning init_fn, or None when the run starts fresh or resumes (slim restores it)."""
  if resume_from:
    check_resumable(resume_from, tf.compat.v1.global_variables())
    run_info.check_same_classes(config.train_dir, class_names)
    logging.info('Resuming from %s%s.', resume_from,
                 ' (ignoring --checkpoint_path)' if config.checkpoint_path else '')
    return None
  if config.checkpoint_path:
    return resume.fine_tune_init_fn(config.checkpoint_path, config.checkpoint_exclude_scopes,
                                         config.ignore_missing_vars)
  return None


def check_image_size(config):
  """UserError for a --train_image_size that does not give the net a 1x1 score map (after
  train_config.validate: the nets' sizes come with the nets, which import TensorFlow)."""
  if config.train_image_size is not None:
    map_size = nets_factory.score_map_size(config.model_name, config.train_image_size,
                                           config.train_image_size)
    if map_size != (1, 1):
      low, high = nets_factory.classify_sizes(config.model_name)
      raise UserError('--train_image_size=%d gives %s a %dx%d map where training needs '
                      '1x1; use a size from %d to %d (224 is the default)'
                      % ((config.train_image_size, config.model_name) + map_size + (low, high)))


def train(config, step_function=steps.StepFunction, check_resumable=resume.check_resumable):
  """Trains until max_number_of_steps (or forever); resumes from train_dir's newest checkpoint.
  One training at a time per train_dir (a lock file there; a second one is a UserError).

  Returns the final global step and the signal that stopped it (None when it ran to the end),
  once the checkpoint of that step is on disk and readable; FileSystemError (one line: the
  newest safe checkpoint, the steps lost) when it is not, or the file system refused a write.

  step_function: makes slim's train_step_fn, called as step_function(log_tensors, images per
  step, max_steps or None, log_every_n_steps): steps.StepFunction or a subclass of it.
  check_resumable(checkpoint, variables): a UserError unless the checkpoint to resume from holds
  the graph's variables (resume.check_resumable).
  """
  train_config.validate(config)
  check_image_size(config)
  gpus, flags = session.num_gpus(), session.cpu_flags()
  config = dataclasses.replace(
      config, precision=session.resolve_precision(config.precision, gpus, flags))
  session.check_precision(config.precision, gpus, flags)
  if config.cluster is not None and not config.cluster.is_chief:
    # writes nothing: train_dir is the chief's
    state = _run(config, None, 0, step_function, check_resumable)
    return state.step, state.stop_signal
  with saving.refusals(config.train_dir):
    tf.io.gfile.makedirs(config.train_dir)
    base.check_writable(config.train_dir)
    with base.folder_lock(config.train_dir, LOCK_FILENAME, 'a training run'):
      return _train(config, step_function, check_resumable)


def _train(config, step_function, check_resumable):
  """The run in a train_dir this process holds: leftovers removed, resumed (or started), and its
  last checkpoint checked on disk."""
  saving.remove_leftovers(config.train_dir)  # Now: no other trainer is saving there.
  resume_from = resume.repair_state(config.train_dir)
  start_step = 0
  if resume_from:
    start_step = checkpoints.saved_step(resume_from)
    if config.max_number_of_steps and start_step >= config.max_number_of_steps:
      logging.info('%s is already at step %d >= --max_number_of_steps=%d; nothing to do%s.',
                   resume_from, start_step, config.max_number_of_steps,
                   ' (the chief still starts, so that the other tasks see it and end)'
                   if config.cluster else '')
      if config.cluster is None:
        return start_step, None
  with saving.refusals(config.train_dir, lambda: saving.RunState(start_step)):
    state = _run(config, resume_from, start_step, step_function, check_resumable)
  saving.check_final_save(config.train_dir, state)
  return state.step, state.stop_signal


def _run(config, resume_from, start_step, step_function, check_resumable):
  """Builds the graph and runs slim.learning.train; returns the saving.RunState it reached. In
  a cluster: on this worker's server, variables on the ps tasks, only the chief writing."""
  cluster = config.cluster
  chief = cluster is None or cluster.is_chief
  session_config = session.session_config(config.precision, config.log_device_placement)
  server = None
  if cluster is not None:
    session_config = cluster_lib.session_config(cluster, session_config)
    server = cluster_lib.start_server(cluster, session_config)
  if config.deterministic:
    # For the rest of the process: TensorFlow has no public call that turns it off again.
    tf.config.experimental.enable_op_determinism()
  with tf.Graph().as_default(), _cluster_devices(cluster):
    tf.compat.v1.set_random_seed(_task_seed(config))
    dataset = dataset_factory.get_dataset(config.dataset_name, config.dataset_split_name,
                                          config.dataset_dir)
    reader.check_split_has_images(dataset, 'train')
    config = _check_resources(config, dataset.num_classes)
    train_op, _, log_tensors, sync_optimizer = build_graph(config, dataset)
    logging.info('%s%s', start_line(config, dataset, session.num_gpus()),
                 ' As %s.' % cluster.describe() if cluster else '')
    class_names = base.class_names(dataset.labels_to_names, dataset.num_classes)
    init_fn = _init_fn(config, resume_from, class_names, check_resumable) if chief else None
    if chief:  # run.json for evaluation, predict and export; a resumed run keeps its id
      hparams = None if resume_from else run_start.hparams_of(config)
      run_id = run_info.write(config.train_dir, run_info.from_training(config, dataset, hparams),
                              resumed=bool(resume_from))
    if chief and not resume_from:  # a resumed run is the same HParams session: written once
      run_start.write_run_start(config.train_dir, config, _dataset_text(config, dataset),
                                num_classes=dataset.num_classes, group_name=run_id)
    step_fn = step_function(
        log_tensors, config.batch_size * _batches_per_step(config),
        config.max_number_of_steps or None, config.log_every_n_steps)
    step_fn.summary_op = tf.compat.v1.summary.merge_all()  # with the step, not on slim's thread
    step_fn.save_summaries_secs = config.save_summaries_secs
    train_step_fn = step_fn
    if cluster is not None:
      step_fn.in_cluster = True
      if sync_optimizer is not None:
        step_fn.release_op = sync_optimizer.get_init_tokens_op(cluster.num_workers)
      job = joining.signature(config, dataset.num_classes, class_names, dataset.num_samples,
                              tf.compat.v1.global_variables())
      if chief:  # once its variables are ready: the others wait for that, then compare
        train_step_fn = joining.publishes(step_fn, functools.partial(
            joining.publish, server.target, session_config, job))
      train_step_fn = cluster_lib.exits_when_lost(
          train_step_fn, functools.partial(run_errors.lost_message, config))
    # A run reads the dataset it opened, or stops: a conversion swapped in under it would be read
    # from the next epoch on. Looked at every second or so, and before each save, so no
    # checkpoint learnt from the new photos.
    check_dataset = functools.partial(run_errors.check_dataset, config, dataset, step_fn)
    train_step_fn = steps.checking(train_step_fn, check_dataset)
    saver = saving.StepSaver(max_to_keep=config.keep_checkpoint_max, folder=config.train_dir,
                             before_save=check_dataset, start_step=start_step)
    variable_bytes = sum(v.shape.num_elements() * v.dtype.size
                         for v in tf.compat.v1.global_variables())

    def state():  # what the step function and the saver reached, when asked
      return saving.RunState(start_step, step_fn.step, step_fn.stop_signal, saver.failure,
                             variable_bytes)
    with _signals(cluster, step_fn):
      if not chief:
        joining.wait_for_chief(cluster, server.target, session_config, job,
                               config.startup_timeout_secs)
      with _refusals(config, state), run_errors.user_errors(config, dataset, step_fn), \
          compat.prompt_supervisor(in_cluster=cluster is not None):
        slim.learning.train(
            train_op, logdir=config.train_dir, train_step_fn=train_step_fn, train_step_kwargs={},
            number_of_steps=config.max_number_of_steps or None, init_fn=init_fn, saver=saver,
            summary_op=None, save_summaries_secs=config.save_summaries_secs,  # (global_step/sec)
            save_interval_secs=config.save_interval_secs, session_config=session_config,
            master=server.target if server else '', is_chief=chief,
            sync_optimizer=sync_optimizer,
            # the sync chief's queue runner waits for gradients that no longer come
            ignore_live_threads=sync_optimizer is not None)
  if cluster is not None:
    with _refusals(config, state):
      cluster_lib.report_done(cluster, server)  # after the chief's last save: the ps may stop
  return state()


@contextlib.contextmanager
def _signals(cluster, step_fn):
  """Within: SIGINT/SIGTERM/SIGHUP stop the run after its step, with a checkpoint (one process,
  the chief), or end a worker that is not the chief at once (it saves nothing)."""
  if cluster is not None and not cluster.is_chief:
    with joining.leaves_at_once(cluster, INTERRUPT_STATUS):
      yield
    return
  previous = {s: signal.signal(s, step_fn.request_stop) for s in INTERRUPT_STATUS}
  try:
    yield
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)


def _refusals(config, state):
  """The chief's file-system errors as one line with the run's state() (a worker writes
  nothing, and its errors are its own)."""
  if config.cluster is not None and not config.cluster.is_chief:
    return contextlib.nullcontext()
  return saving.refusals(config.train_dir, state)


def _cluster_devices(cluster):
  return tf.compat.v1.device(cluster_lib.device_setter(cluster)) if cluster else \
      contextlib.nullcontext()

