"""Both input pipelines: batch shapes, labels that match the files, one exact evaluation pass."""
import collections

import numpy as np
import pytest
import tensorflow as tf

from datasets import flowers
from datasets import input_pipeline

SIZE = 32


def simple_preprocess(encoded):
  image = tf.image.convert_image_dtype(tf.io.decode_jpeg(encoded, channels=3), tf.float32)
  return tf.image.resize(image, [SIZE, SIZE]) * 2.0 - 1.0


def run_batches(dataset, batch_size, is_training, pipeline, num_batches=None):
  """Runs next_batch() until the input ends (or num_batches): returns the list of batches."""
  next_batch = input_pipeline.build_batches(dataset, simple_preprocess, batch_size, is_training,
                                            pipeline=pipeline, num_readers=2,
                                            num_preprocessing_threads=2, seed=1)
  batch = next_batch()
  out = []
  with tf.compat.v1.train.MonitoredSession() as sess:
    while not sess.should_stop() and (num_batches is None or len(out) < num_batches):
      out.append(sess.run(batch))
  return out


@pytest.mark.parametrize('pipeline', input_pipeline.PIPELINES)
def test_training_batches_are_full_shaped_and_labelled_from_the_files(records_dataset, pipeline):
  dataset_dir, splits = records_dataset
  label_of = {f: label for f, label, _, _ in splits['train']}
  with tf.Graph().as_default():
    batches = run_batches(flowers.get_split('train', dataset_dir), 4, True, pipeline, 6)
  assert len(batches) == 6
  for batch in batches:
    assert batch['images'].shape == (4, SIZE, SIZE, 3)
    assert batch['images'].dtype == np.float32
    assert -1.0 <= batch['images'].min() and batch['images'].max() <= 1.0
    names = [f.decode() for f in batch['filenames']]
    assert list(batch['labels']) == [label_of[f] for f in names]
  seen = collections.Counter(f for b in batches for f in b['filenames'])
  assert len(seen) > 4  # shuffled across files: more than one shard's worth of names


@pytest.mark.parametrize('pipeline', input_pipeline.PIPELINES)
def test_evaluation_goes_over_the_split_exactly_once_keeping_the_partial_batch(
    records_dataset, pipeline):
  dataset_dir, splits = records_dataset
  with tf.Graph().as_default():
    dataset = flowers.get_split('validation', dataset_dir)
    batches = run_batches(dataset, 4, False, pipeline)
  assert [len(b['labels']) for b in batches] == [4, 4, 2]
  names = [f.decode() for b in batches for f in b['filenames']]
  assert sorted(names) == sorted(f for f, _, _, _ in splits['validation'])


def test_unknown_pipeline_is_rejected(records_dataset):
  with tf.Graph().as_default():
    dataset = flowers.get_split('train', records_dataset[0])
    with pytest.raises(ValueError, match='unknown input pipeline'):
      input_pipeline.build_batches(dataset, simple_preprocess, 2, True, pipeline='pytorch')


def test_input_ops_are_placed_on_the_cpu(records_dataset):
  with tf.Graph().as_default() as graph:
    dataset = flowers.get_split('train', records_dataset[0])
    input_pipeline.build_batches(dataset, simple_preprocess, 2, True)
    input_ops = [op for op in graph.get_operations() if op.name.startswith('input/')]
  assert input_ops and all(op.device.lower().endswith('cpu:0') for op in input_ops)
