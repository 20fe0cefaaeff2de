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
import functools
import sys

from absl import flags
from absl import logging

import base
import cli
from cli import script_flags
from datasets import dataset_factory
from summaries import dataset_view
from evaluation import evaluator

FLAGS = flags.FLAGS
CONFIG = evaluator.EvalConfig  # every default lives there (or in TrainConfig, for training's)


def define_flags():
  script_flags.define_dataset_flags(CONFIG)
  script_flags.define_model_flags(CONFIG)
  define = functools.partial(script_flags.define, CONFIG)
  define('checkpoint_path',
         'What to evaluate: the training folder (its --train_dir; every checkpoint, in order, '
         'as training writes them) or one checkpoint prefix such as '
         'runs/alexnet/model.ckpt-1000 (evaluated once).')
  define('eval_dir', 'Folder for the evaluation\'s summaries, projector files and state; not '
         'the training folder (a subfolder of it is fine).')
  define('batch_size', 'Images per batch.')
  define('eval_interval_secs', 'Seconds between looks for a new checkpoint (waiting ones are '
         'evaluated back to back).')
  define('timeout', 'Stop after this many seconds without a new checkpoint; 0 waits forever.')
  define('max_number_of_steps', 'Training\'s last step: stop once its checkpoint is evaluated. '
         '0: the one training wrote in the training folder\'s run.json (unknown without it).')
  define('once', 'Evaluate one checkpoint (the newest in a folder) and exit.')
  define('eval_image_size', 'Input size (default: the net\'s, 224): the side of the central '
         'crop, or the shorter side of the photo with --full_image.')
  define('full_image', 'Classify whole photos (aspect kept, one at a time) through the fully '
         'convolutional net with its score map averaged, instead of a central crop.')
  define('moving_average_decay',
         'Evaluate the moving averages of the weights training kept with this decay.')
  define('eval_device', 'auto: a GPU when one is visible (memory grows as needed); cpu: keep off '
         'the GPU; gpu: require one.', choices=evaluator.EVAL_DEVICES)
  script_flags.define_input_flags(CONFIG)
  define('embedding_size', 'Images in the embedding projector (default: all); 0: no projector.')
  define('embedding_every',
         'Write the projector every n-th evaluated checkpoint (and the last); 0: never.')
  define('grid_images', 'Images in the prediction grid (mistakes first); 0: no grid.')
  define('fixed_photos', 'The split\'s first n photos (in file order), shown at every checkpoint '
         'with their Grad-CAM and conv1/conv5 feature maps, so TensorBoard\'s step slider shows '
         'the same photos through training; 0: none.')
  script_flags.define_flag(flags.DEFINE_string, 'dataset_view', None,
                           'Write a TensorBoard log of the split (sample grids per class, a '
                           'projector of the photos) into this folder and exit; needs no '
                           'checkpoint.')


define_flags()
flags.adopt_module_key_flags(script_flags)  # listed in --helpshort, as this script's own


def config_from_flags():
  return script_flags.config_from_flags(CONFIG)


def write_dataset_view():
  base.check_folder_path(FLAGS.dataset_view, 'dataset_view')
  base.check_no_glob_characters(FLAGS.dataset_view, 'dataset_view')
  dataset = dataset_factory.get_dataset(FLAGS.dataset_name, FLAGS.dataset_split_name,
                                        FLAGS.dataset_dir)
  dataset_view.write_dataset_view(dataset, FLAGS.dataset_view, embedding_size=FLAGS.embedding_size)
  logging.info('Look at it: tensorboard --logdir=%s', FLAGS.dataset_view)
  return 0


def main(argv):
  del argv
  if FLAGS.dataset_view:
    return write_dataset_view()
  for name in ('checkpoint_path', 'eval_dir'):
    if not FLAGS[name].value:
      raise base.UserError('--%s is required (or pass --dataset_view=DIR)' % name)
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
  sys.exit(cli.run(main))
