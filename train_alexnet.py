"""Trains AlexNet v2 on a converted dataset with slim.learning.train; watch it in TensorBoard.

  python train_alexnet.py --dataset_dir=data/flowers --train_dir=runs/alexnet
  tensorboard --logdir=runs/alexnet --samples_per_plugin=images=100

Across machines: the same command on every task with --job_name=ps|worker, --task, --ps_hosts and
--worker_hosts (or TF_CONFIG, as Kubernetes' TFJob sets it); see training/cluster.py.

Rerunning the same command resumes from the newest checkpoint. Ctrl-C, SIGTERM or SIGHUP saves a
checkpoint at the current step and exits with status 130, 143 or 129 (in a cluster a worker but
the chief saves nothing: it exits at once). Exit status 2: a usage error, or a cluster task that
cannot join the chief's job (one line); 3: a file the system refused, or a last checkpoint that
could not be saved.
"""
import os
import shlex
import sys

from absl import flags
from absl import logging

import cli
from base import options
from cli import script_flags
from training import cluster_roles
from training import optimizer_params
from training import train_config

FLAGS = flags.FLAGS
CONFIG = train_config.TrainConfig  # every option lives there: default, help, topic, range


def define_flags():
  script_flags.define_config_flags(CONFIG)  # a flag per TrainConfig option, with its help
  define_flag = script_flags.define_flag
  for name, users in optimizer_params.parameter_users().items():  # --momentum, --adam_beta1, ...
    define_flag(flags.DEFINE_float, name, optimizer_params.OPTIMIZER_PARAMS[users[0]][name],
                'Parameter of --optimizer=%s.' % '|'.join(users), 'Optimization')
  define_flag(flags.DEFINE_string, 'job_name', '', 'In a cluster: ps or worker (default: '
              'TF_CONFIG\'s task, else one process).', 'Cluster')
  define_flag(flags.DEFINE_integer, 'task', 0, 'In a cluster: the index of this task in its '
              'job; worker 0 is the chief.', 'Cluster')
  define_flag(flags.DEFINE_list, 'ps_hosts', [], 'In a cluster: the ps tasks, host:port,...',
              'Cluster')
  define_flag(flags.DEFINE_list, 'worker_hosts', [], 'In a cluster: the worker tasks, '
              'host:port,...', 'Cluster')


define_flags()
flags.adopt_module_key_flags(script_flags)  # listed in --helpshort, as this script's own


def cluster_from_flags():
  """This process's role: --job_name/--task/--ps_hosts/--worker_hosts, else TF_CONFIG."""
  return cluster_roles.resolve(FLAGS.job_name, FLAGS.task, FLAGS.ps_hosts, FLAGS.worker_hosts,
                         os.environ.get('TF_CONFIG'))


def config_from_flags(roles=None, warn=True):
  """The TrainConfig of the flags; warn: log the optimizer parameters the optimizer ignores."""
  params = {name: FLAGS[name].value for name in optimizer_params.parameter_users()}
  if warn:
    given = [name for name in params if FLAGS[name].present]
    for name, users in optimizer_params.params_not_taken(FLAGS.optimizer, given):
      logging.warning('--%s is not a parameter of --optimizer=%s (it is of %s); it is ignored.',
                      name, FLAGS.optimizer, ', '.join(users))
  return script_flags.config_from_flags(CONFIG, optimizer_params=params, cluster=roles)


def check_before_tensorflow():
  """The cluster roles and the settings train_config.validate checks (it needs no TensorFlow),
  before TensorFlow loads: a mistake in them (a malformed TF_CONFIG, a value out of range, a
  train_dir that is a file, ...) is one line at once, not after TensorFlow's ~4 s start. (A ps
  task takes no training settings. trainer.train checks them again, for its other callers.)"""
  roles = cluster_from_flags()
  if roles is None or roles.job_name != 'ps':
    train_config.validate(config_from_flags(roles, warn=False))


def next_commands(config):
  """The commands that evaluate the run and show it, with the settings they need from it (the
  net and its image size the evaluation takes from the run's run.json)."""
  settings = {'dataset_dir': config.dataset_dir, 'checkpoint_path': config.train_dir,
              'eval_dir': os.path.join(config.train_dir, 'eval')}
  for name in ('dataset_name', 'moving_average_decay'):
    if getattr(config, name) != options.field_default(CONFIG, name):
      settings[name] = getattr(config, name)
  evaluate = ' '.join(['python eval_alexnet.py'] + ['--%s=%s' % (name, shlex.quote(str(value)))
                                                    for name, value in settings.items()])
  return ('Evaluate it:  %s --once\nLook at it:   tensorboard --logdir=%s '
          '--samples_per_plugin=images=100' % (evaluate, shlex.quote(config.train_dir)))


def main(argv):
  del argv
  # Here, not above: they import TensorFlow, which cli loads only after the flags parsed.
  from training import cluster
  from training import trainer

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
  sys.exit(cli.run(main, before_tensorflow=check_before_tensorflow))
