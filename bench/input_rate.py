"""The pipeline section: preprocessed training images/s of an input pipeline alone (the
library's queue and tf.data pipelines, and a tf.data pipeline that caches decoded photos)."""
from bench.config import DATASET_NAME
from bench.config import MODEL_NAME
from bench.timing import log
from bench.timing import measure
from bench.timing import running_session


def get_dataset(dataset_dir, split_name='train'):
  from datasets import dataset_factory
  return dataset_factory.get_dataset(DATASET_NAME, split_name, dataset_dir)


def training_batch(dataset, batch_size, pipeline='queue', fast_mode=True, decode_and_crop=True,
                   num_readers=4, num_preprocessing_threads=4, seed=0, image_size=224):
  """The trainer's input (trainer.build_input) with these settings."""
  from training import train_config
  from training import trainer
  config = train_config.TrainConfig(
      dataset_dir='', train_dir='', batch_size=batch_size, input_pipeline=pipeline,
      fast_mode=fast_mode, decode_and_crop=decode_and_crop, num_readers=num_readers,
      num_preprocessing_threads=num_preprocessing_threads, seed=seed, train_image_size=image_size,
      model_name=MODEL_NAME)
  return trainer.build_input(config, dataset)


def cached_decoded_batch(dataset, batch_size, fast_mode=True, num_readers=4,
                         num_preprocessing_threads=4, seed=0, image_size=224):
  """A tf.data pipeline that decodes each photo once and keeps its pixels in memory (about
  0.4 MB per photo), then crops and distorts them anew every epoch. Not in the library: an
  experiment (see the README)."""
  import tensorflow as tf

  from preprocessing import preprocessing_factory
  preprocessing = preprocessing_factory.PREPROCESSING_MAP[MODEL_NAME]
  autotune = tf.data.experimental.AUTOTUNE

  def decode(serialized):
    image, label = dataset.decoder.decode(serialized, ['image', 'label'])
    return image, label

  def preprocess(image, label):
    return preprocessing.preprocess_image(image, image_size, image_size, is_training=True,
                                          fast_mode=fast_mode), label

  with tf.device('/cpu:0'), tf.name_scope('input'):
    files = tf.data.Dataset.from_tensor_slices(list(dataset.data_sources))
    records = files.interleave(tf.data.TFRecordDataset, cycle_length=num_readers,
                               num_parallel_calls=autotune)
    batches = (records.map(decode, num_parallel_calls=num_preprocessing_threads)
               .cache().repeat().shuffle(10 * batch_size, seed=seed)
               .map(preprocess, num_parallel_calls=num_preprocessing_threads, deterministic=False)
               .batch(batch_size, drop_remainder=True).prefetch(2))
    images, labels = tf.compat.v1.data.make_one_shot_iterator(batches).get_next()
  return {'images': images, 'labels': labels}


def input_batch(dataset, batch_size, pipeline, fast_mode=True, decode_and_crop=True, **kwargs):
  """pipeline: 'queue' or 'tf_data' (the library's), or 'cached' (cached_decoded_batch)."""
  if pipeline == 'cached':
    return cached_decoded_batch(dataset, batch_size, fast_mode=fast_mode, **kwargs)
  return training_batch(dataset, batch_size, pipeline, fast_mode, decode_and_crop, **kwargs)


def pipeline_rate(dataset_dir, batch_size, pipeline='queue', fast_mode=True, decode_and_crop=True,
                  timing=None, **kwargs):
  """Preprocessed training images/s of an input pipeline alone (the batch is computed, not
  fetched into Python)."""
  import tensorflow as tf

  from rundir import session
  with tf.Graph().as_default() as graph:
    tf.compat.v1.set_random_seed(0)
    batch = input_batch(get_dataset(dataset_dir), batch_size, pipeline, fast_mode,
                        decode_and_crop, **kwargs)
    ops = list({batch['images'].op, batch['labels'].op})  # targets (tf.group could be pruned)
    with running_session(session.session_config()) as sess:
      graph.finalize()
      result = measure(lambda: sess.run(ops), batch_size, **(timing or {}))
  result.update(pipeline=pipeline, fast_mode=fast_mode, decode_and_crop=decode_and_crop,
                batch_size=batch_size)
  return result


def run_section(bench):
  """Both library pipelines with fast_mode and decode_and_crop on and off, then the cached one."""
  rows = bench.results['pipeline'] = []
  batch_size = bench.settings.pipeline_batch_size
  for pipeline in ('queue', 'tf_data'):
    for fast_mode in (True, False):
      for decode_and_crop in (True, False):
        row = pipeline_rate(bench.dataset_dir, batch_size, pipeline, fast_mode, decode_and_crop,
                            timing=bench.timing)
        log('pipeline %s fast_mode=%s decode_and_crop=%s: %.1f images/s'
            % (pipeline, fast_mode, decode_and_crop, row['images_per_sec']))
        rows.append(row)
  row = pipeline_rate(bench.dataset_dir, batch_size, 'cached', True, False, timing=bench.timing)
  log('pipeline cached decoded images: %.1f images/s' % row['images_per_sec'])
  rows.append(row)
