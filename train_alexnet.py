"""Trains AlexNet v2 on a converted dataset with slim.learning.train; watch it in TensorBoard.

  python train_alexnet.py --dataset_dir=data/flowers --train_dir=runs/alexnet
  tensorboard --logdir=runs/alexnet --samples_per_plugin=images=100

Across machines: the same command on every task with --job_name=ps|worker, --task, --ps_hosts and
--worker_hosts (or TF_CONFIG, as Kubernetes' TFJob sets it); see training/cluster.py.

Rerunning the same command resumes from the newest checkpoint. Ctrl-C, SIGTERM or SIGHUP saves a
checkpoint at the current step and exits with status 130, 143 or 129. Exit status 2: a usage
error (one line); 3: a file the system refused, or a last checkpoint that could not be saved.
"""
import functools
import os
import shlex
import sys

from absl import flags
from absl import logging

import cli
from cli import script_flags
from training import cluster
from training import optimization
from rundir import session
from training import trainer

FLAGS = flags.FLAGS
CONFIG = trainer.TrainConfig  # every default lives there


def define_flags():
  script_flags.define_dataset_flags(CONFIG)
  script_flags.define_model_flags(CONFIG)
  define = functools.partial(script_flags.define, CONFIG)
  define('train_dir', 'Folder for checkpoints and event files.')
  define('batch_size', 'Images per step (split over the clones).')
  define('max_number_of_steps', 'Steps to train to (global step); 0 trains until stopped.')
  define('optimizer', 'Optimizer.', choices=optimization.OPTIMIZERS)
  for name, users in optimization.parameter_users().items():  # --momentum, --adam_beta1, ...
    script_flags.define_flag(flags.DEFINE_float, name,
                             optimization.OPTIMIZER_PARAMS[users[0]][name],
                             'Parameter of --optimizer=%s.' % '|'.join(users))
  define('learning_rate', 'Initial learning rate.')
  define('learning_rate_decay_type', 'How the learning rate decays.',
         choices=optimization.DECAY_TYPES)
  define('learning_rate_decay_factor', 'exponential: factor per decay period.')
  define('end_learning_rate', 'polynomial: final rate.')
  define('num_epochs_per_decay', 'Epochs per decay period.')
  define('warmup_epochs', 'Linear warm-up from 0, in epochs.')
  define('weight_decay', 'L2 weight decay.')
  define('label_smoothing', 'Label smoothing of the cross-entropy.')
  define('moving_average_decay',
         'Keep exponential moving averages of the weights (eval can use them).')
  define('clip_gradient_norm', 'Clip each gradient to this L2 norm; 0 does not clip.')
  define('checkpoint_path',
         'Fine-tuning source: a checkpoint (file prefix, or a folder for its newest) whose '
         'weights start this run. Ignored when --train_dir already holds a checkpoint (then '
         'training resumes from that). Not where checkpoints go: that is --train_dir.')
  define('checkpoint_exclude_scopes',
         'Scopes not restored from --checkpoint_path, e.g. alexnet_v2/fc8.')
  define('trainable_scopes', 'Train only these scopes (default: all).')
  define('ignore_missing_vars', 'Skip variables the fine-tuning checkpoint lacks.')
  script_flags.define_input_flags(CONFIG)
  define('num_readers', 'Parallel TFRecord readers.')
  define('fast_mode', 'Cheaper colour distortion and bilinear resize only.')
  define('decode_and_crop', 'Decode only the sampled crop window of each JPEG.')
  define('train_image_size', 'Input size (default: the net\'s, 224).')
  define('log_every_n_steps', 'Progress line every n steps.')
  define('save_summaries_secs', 'Seconds between TensorBoard summaries.')
  define('save_interval_secs', 'Seconds between checkpoints.')
  define('keep_checkpoint_max', 'Checkpoints kept.')
  define('seed', 'Graph-level random seed.')
  define('num_clones', 'Split each batch over this many GPUs.')
  define('clone_on_cpu', 'Put the clones on the CPU.')
  define('log_device_placement', 'Log the device of every op.')
  define('precision', 'bf16: oneDNN mixed precision on CPUs with AVX512-BF16/AMX; fp16: GPU '
         'mixed precision. Weights stay fp32.', choices=session.PRECISIONS)
  define('summarize_histograms', 'Histograms of weights and activations.')
  define('summarize_gradients', 'Histograms of gradients.')
  define_flag = script_flags.define_flag
  define_flag(flags.DEFINE_string, 'job_name', '', 'In a cluster: ps or worker (default: '
              'TF_CONFIG\'s task, else one process).')
  define_flag(flags.DEFINE_integer, 'task', 0, 'In a cluster: the index of this task in its '
              'job; worker 0 is the chief.')
  define_flag(flags.DEFINE_list, 'ps_hosts', [], 'In a cluster: the ps tasks, host:port,...')
  define_flag(flags.DEFINE_list, 'worker_hosts', [], 'In a cluster: the worker tasks, '
              'host:port,...')
  define('sync_replicas', 'In a cluster: aggregate the workers\' gradients into one update '
         '(SyncReplicasOptimizer); else each worker updates on its own.')
  define('replicas_to_aggregate', 'With --sync_replicas: gradients per update (0: the number '
         'of workers).')


define_flags()
flags.adopt_module_key_flags(script_flags)  # listed in --helpshort, as this script's own


def cluster_from_flags():
  """This process's role: --job_name/--task/--ps_hosts/--worker_hosts, else TF_CONFIG."""
  return cluster.resolve(FLAGS.job_name, FLAGS.task, FLAGS.ps_hosts, FLAGS.worker_hosts,
                         os.environ.get('TF_CONFIG'))


def config_from_flags(roles=None):
  params = {name: FLAGS[name].value for name in optimization.parameter_users()}
  given = [name for name in params if FLAGS[name].present]
  for name, users in optimization.params_not_taken(FLAGS.optimizer, given):
    logging.warning('--%s is not a parameter of --optimizer=%s (it is of %s); it is ignored.',
                    name, FLAGS.optimizer, ', '.join(users))
  return script_flags.config_from_flags(CONFIG, optimizer_params=params, cluster=roles)


def next_commands(config):
  """The commands that evaluate the run and show it, with the settings they need from it."""
  settings = {'dataset_dir': config.dataset_dir, 'checkpoint_path': config.train_dir,
              'eval_dir': os.path.join(config.train_dir, 'eval')}
  for name in ('dataset_name', 'model_name', 'moving_average_decay'):
    if getattr(config, name) != script_flags.field_default(CONFIG, name):
      settings[name] = getattr(config, name)
  if config.train_image_size:  # evaluated at the size it learned (predict and export know it)
    settings['eval_image_size'] = config.train_image_size
  evaluate = ' '.join(['python eval_alexnet.py'] + ['--%s=%s' % (name, shlex.quote(str(value)))
                                                    for name, value in settings.items()])
  return ('Evaluate it:  %s --once\nLook at it:   tensorboard --logdir=%s '
          '--samples_per_plugin=images=100' % (evaluate, shlex.quote(config.train_dir)))


def main(argv):
  del argv
  roles = cluster_from_flags()
  if roles is not None and roles.job_name == 'ps':
    return cluster.serve_ps(roles)
  config = config_from_flags(roles)
  step, stop_signal = trainer.train(config)
  if stop_signal is not None:
    logging.info('Stopped at step %d; rerun the same command to resume.', step)
    return trainer.INTERRUPT_STATUS[stop_signal]
  if roles is not None and not roles.is_chief:
    logging.info('Worker %d finished at step %s.', roles.task_index, step)
    return 0
  logging.info('Training finished at step %s.\n%s', step, next_commands(config))
  return 0


if __name__ == '__main__':
  flags.mark_flags_as_required(['dataset_dir', 'train_dir'])
  sys.exit(cli.run(main))
