"""The evaluation section: images/s of one pass of the evaluator's graph over the validation
split (queue and tf.data input), and of the evaluation net alone on a batch in memory; for the
other nets (config.OTHER_MODELS) a queue pass and the net alone."""
import time

from bench.config import MODEL_NAME
from bench.config import MODELS
from bench.input_rate import get_dataset
from bench.machine import model_device
from bench.timing import log
from bench.timing import measure
from bench.timing import running_session
from bench.training_rate import in_memory_batch
from evaluation import eval_config


def eval_rate(dataset_dir, batch_size, pipeline='queue', num_preprocessing_threads=4,
              model_name=MODEL_NAME):
  """One pass of the net `model_name` in the evaluator's graph (eval_graph.build_eval_graph:
  central-crop preprocessing, is_training=False, streaming metrics and the per-batch fetches of
  its pass hook) over the validation split, from freshly initialized weights. The rate counts
  the images after the first batch (which pays the start-up)."""
  import tensorflow as tf

  from evaluation import eval_graph
  from rundir import session
  config = eval_config.EvalConfig(dataset_dir=dataset_dir, checkpoint_path=dataset_dir,
                                eval_dir=dataset_dir, batch_size=batch_size,
                                input_pipeline=pipeline,
                                num_preprocessing_threads=num_preprocessing_threads,
                                model_name=model_name)
  with tf.Graph().as_default() as graph:
    dataset = get_dataset(dataset_dir, config.dataset_split_name)
    built = eval_graph.build_eval_graph(config, dataset)
    fetches = [built.update_op, built.collect['labels'], built.collect]
    with running_session(session.eval_session_config(config.eval_device)) as sess:
      graph.finalize()
      pass_start = time.perf_counter()
      first = len(sess.run(fetches)[1])
      start, cpu_start, images = time.perf_counter(), time.process_time(), 0
      while True:
        try:
          images += len(sess.run(fetches)[1])
        except tf.errors.OutOfRangeError:
          break
      end = time.perf_counter()
  seconds = end - start
  return {'model': model_name, 'pipeline': pipeline, 'batch_size': batch_size,
          'images': first + images,
          'pass_seconds': end - pass_start,
          'images_per_sec': images / seconds if images else None,
          'cpu_ms_per_image': 1000.0 * (time.process_time() - cpu_start) / images if images
                              else None}


def eval_forward_rate(batch_size, timing=None, model_name=MODEL_NAME):
  """The evaluation net `model_name` alone (is_training=False, global_pool as the evaluator) on
  a batch in memory: the limit the evaluation input could reach."""
  import tensorflow as tf

  from nets import nets_factory
  from rundir import session
  with tf.Graph().as_default() as graph:
    network_fn = nets_factory.get_network_fn(model_name, 5, is_training=False)
    device = model_device()
    images, _ = in_memory_batch(batch_size, network_fn.default_image_size, 5, device)
    with tf.device(device):
      logits, _ = network_fn(images, global_pool=True)
      predictions = tf.argmax(logits, 1)  # fetched: a tf.group of it gets pruned away
    with running_session(session.session_config()) as sess:
      graph.finalize()
      result = measure(lambda: sess.run(predictions), batch_size, **(timing or {}))
  result.update(model=model_name, pipeline='memory', batch_size=batch_size, images=None)
  return result


def run_section(bench):
  rows = bench.results['evaluation'] = []
  batch_size = bench.settings.eval_batch_size
  for model_name in MODELS:
    for pipeline in ('queue', 'tf_data') if model_name == MODEL_NAME else ('queue',):
      row = eval_rate(bench.dataset_dir, batch_size, pipeline, model_name=model_name)
      log('evaluation %s %s: %s images/s' % (model_name, pipeline, row['images_per_sec']))
      rows.append(row)
    row = eval_forward_rate(batch_size, bench.timing, model_name)
    log('evaluation %s net alone: %.1f images/s' % (model_name, row['images_per_sec']))
    rows.append(row)
