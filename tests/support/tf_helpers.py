"""TensorFlow helpers the tests share: event files and checkpoints."""
import glob
import os

import tensorflow as tf
import tf_slim as slim

from nets import nets_factory
from training import train_config


class _UntrainedNet:
  """An untrained net in a session of its own, its random weights drawn once, saved at any step."""

  def __init__(self, model_name, num_classes):
    self.key = (model_name, num_classes)
    self.graph = tf.Graph()
    with self.graph.as_default():
      nets_factory.get_network_fn(model_name, num_classes)(tf.zeros([1, 224, 224, 3]))
      global_step = tf.compat.v1.train.get_or_create_global_step()
      self.step = tf.compat.v1.placeholder(tf.int64, [])
      self.set_step = global_step.assign(self.step)
      # max_to_keep=None: no rotation (a Saver deletes its own older saves, wherever they are)
      # and a state file naming only the checkpoint just saved, as a Saver of its own wrote.
      self.saver = tf.compat.v1.train.Saver(slim.get_model_variables() + [global_step],
                                            max_to_keep=None)
      self.session = tf.compat.v1.Session()
      self.session.run(tf.compat.v1.global_variables_initializer())

  def save(self, prefix, step):
    with self.graph.as_default():
      self.session.run(self.set_step, {self.step: step})
      self.saver.save(self.session, prefix, write_meta_graph=False)


_untrained = []  # the last one used (one only: alexnet_v2's weights are 185 MB)


def save_random_checkpoint(prefix, num_classes, step, model_name='alexnet_v2'):
  """A checkpoint of an untrained net (model variables and global step only). Its weights are
  drawn once per test process for a net and class count, as building the net takes 5 times
  longer than saving it: checkpoints saved one after another for the same net are the same but
  for the step."""
  if not _untrained or _untrained[0].key != (model_name, num_classes):
    if _untrained:
      _untrained.pop().session.close()
    _untrained.append(_UntrainedNet(model_name, num_classes))
  _untrained[0].save(prefix, step)
  return prefix


def read_events(log_dir):
  """{tag: [(step, kind, value)]} of the event files in log_dir."""
  tags = {}
  for path in glob.glob(os.path.join(str(log_dir), 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.HasField('image'):
          item = ('image', value.image.encoded_image_string)
        elif value.HasField('simple_value'):
          item = ('scalar', value.simple_value)
        elif value.HasField('histo'):
          item = ('histogram', value.histo)
        else:
          item = (value.metadata.plugin_data.plugin_name, tf.make_ndarray(value.tensor))
        tags.setdefault(value.tag, []).append((event.step,) + item)
  return tags


def tiny_train_config(dataset_dir, train_dir, **overrides):
  """A TrainConfig for tests: tiny batches, few steps, no timed summaries or checkpoints."""
  settings = dict(dataset_dir=dataset_dir, train_dir=str(train_dir), batch_size=4,
                  max_number_of_steps=4, num_readers=2, num_preprocessing_threads=2,
                  log_every_n_steps=2, save_summaries_secs=1000, save_interval_secs=1000,
                  summarize_histograms=False)
  settings.update(overrides)
  return train_config.TrainConfig(**settings)
