"""Trains AlexNet v2 on a converted dataset with slim.learning.train; watch it in TensorBoard.

  python train_alexnet.py --dataset_dir=data/flowers --train_dir=runs/alexnet
  tensorboard --logdir=runs/alexnet --samples_per_plugin=images=100

Rerunning the same command resumes from the newest checkpoint. Ctrl-C or SIGTERM saves a checkpoint
at the current step and exits with status 130 or 143.
"""
import sys

from absl import flags
from absl import logging

import cli
from training import optimization
from training import trainer

FLAGS = flags.FLAGS
D = trainer.TrainConfig  # the defaults live in one place

flags.DEFINE_string('dataset_dir', None, 'Folder of the converted TFRecords.')
flags.DEFINE_string('train_dir', None, 'Folder for checkpoints and event files.')
flags.DEFINE_string('dataset_name', D.dataset_name,
                    'flowers, or the --dataset_name another conversion used.')
flags.DEFINE_string('dataset_split_name', D.dataset_split_name, 'Split to train on.')
flags.DEFINE_string('model_name', D.model_name, 'alexnet_v2 or alexnet_v2_bn.')
flags.DEFINE_boolean('use_batch_norm', False,
                     'Batch normalization after each conv layer (model alexnet_v2_bn).')
flags.DEFINE_integer('batch_size', D.batch_size, 'Images per step (split over the clones).')
flags.DEFINE_integer('max_number_of_steps', 10000,
                     'Steps to train to (global step); 0 trains until stopped.')
flags.DEFINE_enum('optimizer', D.optimizer, list(optimization.OPTIMIZERS), 'Optimizer.')
OPTIMIZER_FLAGS = sorted({k for p in optimization.OPTIMIZER_PARAMS.values() for k in p})
for _name in OPTIMIZER_FLAGS:  # --momentum, --adam_beta1, ... with the defaults of optimization.py
  _users = [o for o, p in optimization.OPTIMIZER_PARAMS.items() if _name in p]
  flags.DEFINE_float(_name, optimization.OPTIMIZER_PARAMS[_users[0]][_name],
                     'Parameter of --optimizer=%s.' % '|'.join(_users))
flags.DEFINE_float('learning_rate', D.learning_rate, 'Initial learning rate.')
flags.DEFINE_enum('learning_rate_decay_type', D.learning_rate_decay_type,
                  list(optimization.DECAY_TYPES), 'How the learning rate decays.')
flags.DEFINE_float('learning_rate_decay_factor', D.learning_rate_decay_factor,
                   'exponential: factor per decay period.')
flags.DEFINE_float('end_learning_rate', D.end_learning_rate, 'polynomial: final rate.')
flags.DEFINE_float('num_epochs_per_decay', D.num_epochs_per_decay, 'Epochs per decay period.')
flags.DEFINE_float('warmup_epochs', D.warmup_epochs, 'Linear warm-up from 0, in epochs.')
flags.DEFINE_float('weight_decay', D.weight_decay, 'L2 weight decay.')
flags.DEFINE_float('label_smoothing', D.label_smoothing, 'Label smoothing of the cross-entropy.')
flags.DEFINE_float('moving_average_decay', None,
                   'Keep exponential moving averages of the weights (eval can use them).')
flags.DEFINE_float('clip_gradient_norm', D.clip_gradient_norm,
                   'Clip each gradient to this L2 norm; 0 does not clip.')
flags.DEFINE_string('checkpoint_path', None,
                    'Checkpoint (file prefix or folder) to fine-tune from; ignored when train_dir '
                    'already holds one (then training resumes).')
flags.DEFINE_list('checkpoint_exclude_scopes', [],
                  'Scopes not restored from --checkpoint_path, e.g. alexnet_v2/fc8.')
flags.DEFINE_list('trainable_scopes', [], 'Train only these scopes (default: all).')
flags.DEFINE_boolean('ignore_missing_vars', False,
                     'Skip variables the fine-tuning checkpoint lacks.')
flags.DEFINE_enum('input_pipeline', D.input_pipeline, ['queue', 'tf_data'],
                  'queue: slim DatasetDataProvider and queue runners; tf_data: tf.data.')
flags.DEFINE_integer('num_readers', D.num_readers, 'Parallel TFRecord readers.')
flags.DEFINE_integer('num_preprocessing_threads', D.num_preprocessing_threads,
                     'Threads that decode and preprocess.')
flags.DEFINE_boolean('fast_mode', D.fast_mode,
                     'Cheaper colour distortion and bilinear resize only.')
flags.DEFINE_boolean('decode_and_crop', D.decode_and_crop,
                     'Decode only the sampled crop window of each JPEG.')
flags.DEFINE_integer('train_image_size', None, 'Input size (default: the net\'s, 224).')
flags.DEFINE_integer('log_every_n_steps', D.log_every_n_steps, 'Progress line every n steps.')
flags.DEFINE_integer('save_summaries_secs', D.save_summaries_secs,
                     'Seconds between TensorBoard summaries.')
flags.DEFINE_integer('save_interval_secs', D.save_interval_secs, 'Seconds between checkpoints.')
flags.DEFINE_integer('keep_checkpoint_max', D.keep_checkpoint_max, 'Checkpoints kept.')
flags.DEFINE_integer('seed', D.seed, 'Graph-level random seed.')
flags.DEFINE_integer('num_clones', D.num_clones, 'Split each batch over this many GPUs.')
flags.DEFINE_boolean('clone_on_cpu', D.clone_on_cpu, 'Put the clones on the CPU.')
flags.DEFINE_boolean('log_device_placement', D.log_device_placement,
                     'Log the device of every op.')
flags.DEFINE_enum('precision', D.precision, ['fp32', 'bf16', 'fp16'],
                  'bf16: oneDNN mixed precision on CPUs with AVX512-BF16/AMX; fp16: GPU mixed '
                  'precision. Weights stay fp32.')
flags.DEFINE_boolean('summarize_histograms', D.summarize_histograms,
                     'Histograms of weights and activations.')
flags.DEFINE_boolean('summarize_gradients', D.summarize_gradients, 'Histograms of gradients.')


def config_from_flags():
  return trainer.TrainConfig(
      dataset_dir=FLAGS.dataset_dir,
      train_dir=FLAGS.train_dir,
      dataset_name=FLAGS.dataset_name,
      dataset_split_name=FLAGS.dataset_split_name,
      model_name='alexnet_v2_bn' if FLAGS.use_batch_norm else FLAGS.model_name,
      batch_size=FLAGS.batch_size,
      max_number_of_steps=FLAGS.max_number_of_steps or None,
      optimizer=FLAGS.optimizer,
      optimizer_params={name: FLAGS[name].value for name in OPTIMIZER_FLAGS},
      learning_rate=FLAGS.learning_rate,
      learning_rate_decay_type=FLAGS.learning_rate_decay_type,
      learning_rate_decay_factor=FLAGS.learning_rate_decay_factor,
      end_learning_rate=FLAGS.end_learning_rate,
      num_epochs_per_decay=FLAGS.num_epochs_per_decay,
      warmup_epochs=FLAGS.warmup_epochs,
      weight_decay=FLAGS.weight_decay,
      label_smoothing=FLAGS.label_smoothing,
      moving_average_decay=FLAGS.moving_average_decay,
      clip_gradient_norm=FLAGS.clip_gradient_norm,
      checkpoint_path=FLAGS.checkpoint_path,
      checkpoint_exclude_scopes=FLAGS.checkpoint_exclude_scopes,
      trainable_scopes=FLAGS.trainable_scopes,
      ignore_missing_vars=FLAGS.ignore_missing_vars,
      input_pipeline=FLAGS.input_pipeline,
      num_readers=FLAGS.num_readers,
      num_preprocessing_threads=FLAGS.num_preprocessing_threads,
      fast_mode=FLAGS.fast_mode,
      decode_and_crop=FLAGS.decode_and_crop,
      train_image_size=FLAGS.train_image_size,
      log_every_n_steps=FLAGS.log_every_n_steps,
      save_summaries_secs=FLAGS.save_summaries_secs,
      save_interval_secs=FLAGS.save_interval_secs,
      keep_checkpoint_max=FLAGS.keep_checkpoint_max,
      seed=FLAGS.seed,
      num_clones=FLAGS.num_clones,
      clone_on_cpu=FLAGS.clone_on_cpu,
      log_device_placement=FLAGS.log_device_placement,
      precision=FLAGS.precision,
      summarize_histograms=FLAGS.summarize_histograms,
      summarize_gradients=FLAGS.summarize_gradients)


def main(argv):
  del argv
  step, stop_signal = trainer.train(config_from_flags())
  if stop_signal is not None:
    logging.info('Stopped at step %d; rerun the same command to resume.', step)
    return trainer.INTERRUPT_STATUS[stop_signal]
  logging.info('Training finished at step %s. Watch it: tensorboard --logdir=%s', step,
               FLAGS.train_dir)
  return 0


if __name__ == '__main__':
  flags.mark_flags_as_required(['dataset_dir', 'train_dir'])
  sys.exit(cli.run(main))
