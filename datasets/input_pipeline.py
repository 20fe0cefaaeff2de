"""Turns a dataset split into batches of preprocessed images, on the CPU.

Two pipelines share the same stages: records are decoded by the dataset's decoder
(reader.make_decoder) and each image is preprocessed by the same `preprocess_fn`
(JPEG bytes -> float image); only the reading and batching differ.
  queue   : slim DatasetDataProvider (parallel readers, shuffling common queue), train.batch with
            preprocessing threads, a prefetch queue. Needs queue runners (slim.learning.train and
            slim.evaluation start them).
  tf_data : interleaved TFRecordDatasets, shuffle, parallel map, batch, prefetch.
Every batch is a dict with 'images' [B, H, W, 3] float32, 'labels' [B] int64 and 'filenames' [B].

Training batches repeat forever, shuffled, always full. With deterministic=True (tf_data only)
they come in the same order in every run of the same seed: shards and records shuffled by the
seed, the interleave and the map keeping their order. (With op determinism on, TensorFlow also
runs a map whose function holds random ops on one thread, so each image draws the same random
numbers.) Evaluation batches go over the split exactly once in file order where the pipeline
allows it; the last batch is smaller when the split size is not a multiple of the batch size
(350 images count as 350, not 400 as in research/slim, #2122).
"""
import tensorflow as tf
import tf_slim as slim

from datasets.pipelines import PIPELINES

ITEMS = ('encoded', 'label', 'filename')


def build_batches(dataset, preprocess_fn, batch_size, is_training, pipeline='queue',
                  num_readers=4, num_preprocessing_threads=4, seed=None, prefetch_batches=2,
                  deterministic=False):
  """Builds the input ops and returns `next_batch()`, which returns a batch dict.

  Call next_batch once per model clone: each call dequeues its own batch. deterministic: training
  batches in the same order in every run of the same seed (tf_data; the queue's threads race).
  """
  if pipeline not in PIPELINES:
    raise ValueError('unknown input pipeline "%s"; choose one of %s'
                     % (pipeline, ', '.join(PIPELINES)))
  if deterministic and pipeline == 'queue':
    raise ValueError('the queue pipeline cannot keep one order: use tf_data')
  with tf.device('/cpu:0'), tf.name_scope('input'):
    if pipeline == 'queue':
      return _queue_batches(dataset, preprocess_fn, batch_size, is_training, num_readers,
                            num_preprocessing_threads, seed, prefetch_batches)
    return _tf_data_batches(dataset, preprocess_fn, batch_size, is_training, num_readers,
                            num_preprocessing_threads, seed, prefetch_batches,
                            in_order=deterministic or not is_training)


def _as_batch(images, labels, filenames):
  return {'images': images, 'labels': labels, 'filenames': filenames}


def _queue_batches(dataset, preprocess_fn, batch_size, is_training, num_readers,
                   num_preprocessing_threads, seed, prefetch_batches):
  provider = slim.dataset_data_provider.DatasetDataProvider(
      dataset,
      num_readers=num_readers if is_training else 1,
      shuffle=is_training,
      num_epochs=None if is_training else 1,
      common_queue_capacity=20 * batch_size,
      common_queue_min=10 * batch_size,
      seed=seed)
  encoded, label, filename = provider.get(list(ITEMS))
  image = preprocess_fn(encoded)
  tensors = tf.compat.v1.train.batch(
      [image, label, filename],
      batch_size=batch_size,
      num_threads=num_preprocessing_threads if is_training else 1,
      capacity=5 * batch_size,
      allow_smaller_final_batch=not is_training)
  if not is_training:
    return lambda: _as_batch(*tensors)
  queue = slim.prefetch_queue.prefetch_queue(tensors, capacity=prefetch_batches)
  return lambda: _as_batch(*queue.dequeue())


def _tf_data_batches(dataset, preprocess_fn, batch_size, is_training, num_readers,
                     num_preprocessing_threads, seed, prefetch_batches, in_order):
  autotune = tf.data.experimental.AUTOTUNE
  files = tf.data.Dataset.from_tensor_slices(list(dataset.data_sources))
  if is_training:
    files = files.shuffle(len(dataset.data_sources), seed=seed).repeat()
  records = files.interleave(tf.data.TFRecordDataset,
                             cycle_length=num_readers if is_training else 1,
                             num_parallel_calls=autotune if is_training else None,
                             deterministic=in_order)
  if is_training:
    records = records.shuffle(10 * batch_size, seed=seed)

  def decode_and_preprocess(serialized):
    encoded, label, filename = dataset.decoder.decode(serialized, list(ITEMS))
    return preprocess_fn(encoded), label, filename

  batches = (records
             .map(decode_and_preprocess, num_parallel_calls=num_preprocessing_threads or autotune,
                  deterministic=in_order)
             .batch(batch_size, drop_remainder=is_training)
             .prefetch(prefetch_batches))
  iterator = tf.compat.v1.data.make_one_shot_iterator(batches)
  return lambda: _as_batch(*iterator.get_next())
