"""Evaluates AlexNet v2 checkpoints alongside training, or once; watch both in one TensorBoard.

  python eval_alexnet.py --dataset_dir=data/flowers --checkpoint_path=runs/alexnet \\
                         --eval_dir=runs/alexnet/eval
  tensorboard --logdir=runs/alexnet

Every checkpoint training writes is evaluated in order over one pass of the split; the loop ends
after the checkpoint of --max_number_of_steps or --timeout seconds without a new one, and a
restarted evaluator goes on where it stopped. --once (or a checkpoint prefix as
--checkpoint_path) evaluates one checkpoint. --dataset_view=DIR writes a TensorBoard log of what
the dataset looks like (sample grids per class, a projector of the photos) and exits.
"""
import sys

from absl import flags
from absl import logging

import base
import cli
from cli import script_flags
from evaluation import eval_config

FLAGS = flags.FLAGS
CONFIG = eval_config.EvalConfig  # every option lives there: default, help, topic, range


def define_flags():
  script_flags.define_config_flags(CONFIG)  # a flag per EvalConfig option, with its help
  script_flags.define_flag(flags.DEFINE_string, 'dataset_view', None,
                           'Write a TensorBoard log of the split (sample grids per class, a '
                           'projector of the photos) into this folder and exit; needs no '
                           'checkpoint.', 'Dataset')


define_flags()
flags.adopt_module_key_flags(script_flags)  # listed in --helpshort, as this script's own


def config_from_flags():
  return script_flags.config_from_flags(CONFIG)


def write_dataset_view():
  from datasets import dataset_factory  # (they import TensorFlow: after parsing, as in main)
  from summaries import dataset_view

  base.check_folder_path(FLAGS.dataset_view, 'dataset_view')
  base.check_no_glob_characters(FLAGS.dataset_view, 'dataset_view')
  dataset = dataset_factory.get_dataset(FLAGS.dataset_name, FLAGS.dataset_split_name,
                                        FLAGS.dataset_dir)
  dataset_view.write_dataset_view(dataset, FLAGS.dataset_view, embedding_size=FLAGS.embedding_size)
  logging.info('Look at it: tensorboard --logdir=%s', FLAGS.dataset_view)
  return 0


def check_before_tensorflow():
  """The flags an evaluation needs and the settings eval_config.check_settings checks (it needs
  no TensorFlow), before TensorFlow loads: a mistake in them is one line at once, not after
  TensorFlow's ~4 s start. (evaluator.validate checks them again, with the net's size.)"""
  if FLAGS.dataset_view:
    return
  for name in ('checkpoint_path', 'eval_dir'):
    if not FLAGS[name].value:
      raise base.UserError('--%s is required (or pass --dataset_view=DIR)' % name)
  eval_config.check_settings(config_from_flags())


def main(argv):
  del argv
  if FLAGS.dataset_view:
    return write_dataset_view()
  # Here, not above: it imports TensorFlow, which cli loads only after the flags parsed.
  from evaluation import evaluator

  try:
    results = evaluator.evaluate(config_from_flags())
  except KeyboardInterrupt:
    logging.info('Stopped; rerun the same command to go on where it stopped.')
    return 130
  logging.info('Evaluated %d checkpoint(s). Watch them: tensorboard --logdir=%s', len(results),
               FLAGS.eval_dir)
  return 0


if __name__ == '__main__':
  flags.mark_flags_as_required(['dataset_dir'])
  sys.exit(cli.run(main, before_tensorflow=check_before_tensorflow))
