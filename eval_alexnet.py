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
from datasets import dataset_factory
from datasets import dataset_utils
from base import UserError
from summaries.dataset_view import write_dataset_view
from training import evaluator

FLAGS = flags.FLAGS
D = evaluator.EvalConfig  # the defaults live in one place

flags.DEFINE_string('dataset_dir', None, 'Folder of the converted TFRecords.')
flags.DEFINE_string('dataset_name', D.dataset_name,
                    'flowers, or the --dataset_name another conversion used.')
flags.DEFINE_string('dataset_split_name', D.dataset_split_name, 'Split to evaluate on.')
flags.DEFINE_string('checkpoint_path', None,
                    'The training folder (every checkpoint, as they appear) or one checkpoint '
                    'prefix such as runs/alexnet/model.ckpt-1000 (evaluated once).')
flags.DEFINE_string('eval_dir', None,
                    'Folder for the evaluation\'s summaries, projector files and state; not the '
                    'training folder (a subfolder of it is fine).')
flags.DEFINE_integer('batch_size', D.batch_size, 'Images per batch.')
flags.DEFINE_float('eval_interval_secs', D.eval_interval_secs,
                   'Seconds between looks for a new checkpoint (waiting ones are evaluated '
                   'back to back).')
flags.DEFINE_float('timeout', D.timeout,
                   'Stop after this many seconds without a new checkpoint; 0 waits forever.')
flags.DEFINE_integer('max_number_of_steps', 10000,
                     'Training\'s last step (pass the value train_alexnet.py got): stop once its '
                     'checkpoint is evaluated; 0: unknown.')
flags.DEFINE_boolean('once', D.once,
                     'Evaluate one checkpoint (the newest in a folder) and exit.')
flags.DEFINE_string('model_name', D.model_name, 'alexnet_v2 or alexnet_v2_bn.')
flags.DEFINE_boolean('use_batch_norm', False, 'The net has batch norm (model alexnet_v2_bn).')
flags.DEFINE_integer('eval_image_size', None,
                     'Input size (default: the net\'s, 224): the side of the central crop, or '
                     'the shorter side of the photo with --full_image.')
flags.DEFINE_boolean('full_image', D.full_image,
                     'Classify whole photos (aspect kept, one at a time) through the fully '
                     'convolutional net with its score map averaged, instead of a central crop.')
flags.DEFINE_float('moving_average_decay', None,
                   'Evaluate the moving averages of the weights training kept with this decay.')
flags.DEFINE_enum('eval_device', D.eval_device, list(evaluator.EVAL_DEVICES),
                  'auto: a GPU when one is visible (memory grows as needed); cpu: keep off the '
                  'GPU; gpu: require one.')
flags.DEFINE_enum('input_pipeline', None, ['queue', 'tf_data'],
                  'queue (default) or tf_data (default and required with --full_image).')
flags.DEFINE_integer('num_preprocessing_threads', D.num_preprocessing_threads,
                     'Threads that decode and preprocess (tf_data).')
flags.DEFINE_integer('embedding_size', None,
                     'Images in the embedding projector (default: all); 0: no projector.')
flags.DEFINE_integer('embedding_every', D.embedding_every,
                     'Write the projector every n-th evaluated checkpoint (and the last); 0: never.')
flags.DEFINE_integer('grid_images', D.grid_images,
                     'Images in the prediction grid (mistakes first); 0: no grid.')
flags.DEFINE_string('dataset_view', None,
                    'Write a TensorBoard log of the split (sample grids per class, a projector '
                    'of the photos) into this folder and exit; needs no checkpoint.')


def config_from_flags():
  return evaluator.EvalConfig(
      dataset_dir=FLAGS.dataset_dir,
      checkpoint_path=FLAGS.checkpoint_path,
      eval_dir=FLAGS.eval_dir,
      dataset_name=FLAGS.dataset_name,
      dataset_split_name=FLAGS.dataset_split_name,
      model_name='alexnet_v2_bn' if FLAGS.use_batch_norm else FLAGS.model_name,
      batch_size=FLAGS.batch_size,
      eval_interval_secs=FLAGS.eval_interval_secs,
      timeout=FLAGS.timeout or None,
      max_number_of_steps=FLAGS.max_number_of_steps or None,
      once=FLAGS.once,
      eval_image_size=FLAGS.eval_image_size,
      full_image=FLAGS.full_image,
      moving_average_decay=FLAGS.moving_average_decay,
      eval_device=FLAGS.eval_device,
      input_pipeline=FLAGS.input_pipeline,
      num_preprocessing_threads=FLAGS.num_preprocessing_threads,
      embedding_size=FLAGS.embedding_size,
      embedding_every=FLAGS.embedding_every,
      grid_images=FLAGS.grid_images)


def dataset_view():
  base.check_folder_path(FLAGS.dataset_view, 'dataset_view')
  dataset = dataset_factory.get_dataset(FLAGS.dataset_name, FLAGS.dataset_split_name,
                                        FLAGS.dataset_dir)
  write_dataset_view(dataset, FLAGS.dataset_view, embedding_size=FLAGS.embedding_size)
  logging.info('Look at it: tensorboard --logdir=%s', FLAGS.dataset_view)
  return 0


def main(argv):
  del argv
  if FLAGS.dataset_view:
    return dataset_view()
  for name in ('checkpoint_path', 'eval_dir'):
    if not FLAGS[name].value:
      raise UserError('--%s is required (or pass --dataset_view=DIR)' % name)
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
