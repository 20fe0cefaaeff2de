r"""Where the time goes, measured against this machine's own limits.

    python -m bench.run                     # everything (about 10 minutes on 2 CPU cores)
    python -m bench.run --quick             # every piece once, few steps (2-3 minutes)
    python -m bench.run --output=runs/bench/results.json --sections=training,limits

Measures the converter, the input pipelines alone, training fed from memory and from the full
pipeline (fp32 and mixed precision), the evaluation pass, this machine's matrix-multiply peak,
the training FLOPs per image (TensorFlow's profiler), where a traced training step spends its
time (by layer and kernel), the peak RSS of training, and a few variations (threads, pipelines,
decode_and_crop, caching decoded images); prints tables and writes a JSON file with the machine,
its load and every figure, and which of the issue's targets are met.

Each rate is the best of a few timed windows after warm-up steps: other work on a shared machine
only ever slows a window down. The median window, the process CPU time per image and the cores
the process actually got (CPU time / wall time) are kept too. The same command runs on a GPU
machine: the net, the in-memory batch and the matmul go to /gpu:0 when one is visible (as in the
trainer), and mixed precision is then fp16.

TensorFlow is imported inside the functions, never at the top: the converter starts its worker
processes with 'spawn', which re-imports this module, and they must stay as light as the
converter's own workers.
"""
import argparse
import contextlib
import dataclasses
import json
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import base
from datasets import dataset_utils
from datasets import photos as photos_lib
from datasets import synthetic_flowers

MODEL_NAME = 'alexnet_v2'
DATASET_NAME = 'flowers'
SECTIONS = ('converter', 'pipeline', 'training', 'evaluation', 'limits', 'memory', 'explore')
GB = 1e9
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class Settings:
  photos_per_class: int        # synthetic photos drawn per class (5 classes)
  photo_copies: int            # each drawn photo appears this many times (hard links)
  num_validation: int          # of them in the validation split (the evaluation pass)
  num_shards: int
  converter_repeats: int       # runs of each worker count (best kept)
  converter_script: bool       # also time download_and_convert_flowers.py as a user runs it
  batch_sizes: tuple           # training batch sizes
  rounds: int                  # the batch-32 training rows behind the targets are measured this
                               # many times, interleaved, and the best kept
  pipeline_batch_size: int
  eval_batch_size: int
  warmup_steps: int
  windows: int                 # timed windows per figure
  window_seconds: float        # each window runs whole steps for about this long
  matmul_size: int


MODES = {
    'full': Settings(photos_per_class=120, photo_copies=6, num_validation=350, num_shards=5,
                     converter_repeats=2, converter_script=True, batch_sizes=(16, 32, 64),
                     rounds=2, pipeline_batch_size=32, eval_batch_size=50, warmup_steps=2,
                     windows=3, window_seconds=3.0, matmul_size=2048),
    'quick': Settings(photos_per_class=12, photo_copies=2, num_validation=20, num_shards=2,
                      converter_repeats=1, converter_script=False, batch_sizes=(32,), rounds=1,
                      pipeline_batch_size=32, eval_batch_size=10, warmup_steps=2, windows=2,
                      window_seconds=1.0, matmul_size=1024),
}


def _log(message):
  print('[bench %s] %s' % (time.strftime('%H:%M:%S'), message), file=sys.stderr, flush=True)


# --- the machine ------------------------------------------------------------------------------

def cpu_model(cpuinfo='/proc/cpuinfo'):
  try:
    with open(cpuinfo) as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def gpu_names():
  import tensorflow as tf
  names = []
  for gpu in tf.config.list_physical_devices('GPU'):
    details = tf.config.experimental.get_device_details(gpu)
    names.append(details.get('device_name', gpu.name))
  return names


def mixed_precision(num_gpus, flags):
  """The mixed precision this machine runs: 'fp16' on a GPU, 'bf16' on a CPU with AVX512-BF16 or
  AMX, else None."""
  from training import session
  if num_gpus:
    return 'fp16'
  if flags & set(session.BF16_CPU_FLAGS):
    return 'bf16'
  return None


def machine_info():
  import tensorflow as tf
  from training import session
  flags = session.cpu_flags()
  gpus = gpu_names()
  return {
      'cpu': cpu_model(),
      'cores': photos_lib.default_num_workers(),
      'bf16': bool(flags & set(session.BF16_CPU_FLAGS)),
      'bf16_flags': sorted(flags & set(session.BF16_CPU_FLAGS)),
      'gpus': gpus,
      'mixed_precision': mixed_precision(len(gpus), flags),
      'memory_gb': round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GB, 1),
      'tensorflow': tf.__version__,
      'python': platform.python_version(),
      'platform': platform.platform(),
      'onednn_opts': os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default'),
  }


def model_device():
  """Where the trainer puts the net: /gpu:0 when a GPU is visible, else /cpu:0."""
  from training import model
  from training import session
  return model.variables_device(model.clone_devices(1, False, session.num_gpus()))


def peak_rss_bytes(status='/proc/self/status'):
  """This process's peak resident set (VmHWM), else ru_maxrss."""
  try:
    with open(status) as f:
      for line in f:
        if line.startswith('VmHWM:'):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- timing -----------------------------------------------------------------------------------

def measure(step, items_per_step, warmup_steps, windows, window_seconds, clock=time.perf_counter,
            cpu_clock=time.process_time):
  """Runs step() for at least warmup_steps steps and window_seconds (so the buffers of an input
  pipeline that is faster to drain than to fill are empty when the clock starts), then `windows`
  windows of whole steps lasting about window_seconds each (the step count is set from the
  warm-up's second half).

  Returns images_per_sec (the best window), median_images_per_sec, window_rates,
  cpu_ms_per_image (CPU time of this process, all its threads, per item), cores_used (CPU time
  over wall time: below the core count when other work shares the machine), steps_per_window
  and seconds (timed).
  """
  times = []
  warmup_start = clock()
  while len(times) < max(1, warmup_steps) or clock() - warmup_start < window_seconds:
    start = clock()
    step()
    times.append(clock() - start)
  recent = times[len(times) // 2:]
  step_seconds = sum(recent) / len(recent)
  steps = max(1, min(100000, int(round(window_seconds / max(step_seconds, 1e-6)))))
  rates, wall, cpu = [], 0.0, 0.0
  for _ in range(max(1, windows)):
    start, cpu_start = clock(), cpu_clock()
    for _ in range(steps):
      step()
    seconds, cpu_seconds = clock() - start, cpu_clock() - cpu_start
    rates.append(items_per_step * steps / max(seconds, 1e-9))
    wall += seconds
    cpu += cpu_seconds
  items = items_per_step * steps * len(rates)
  return {'images_per_sec': max(rates), 'median_images_per_sec': statistics.median(rates),
          'window_rates': [round(r, 2) for r in rates], 'cpu_ms_per_image': 1000.0 * cpu / items,
          'cores_used': cpu / max(wall, 1e-9), 'warmup_steps': len(times),
          'steps_per_window': steps, 'seconds': wall}


def _timing(settings):
  return dict(warmup_steps=settings.warmup_steps, windows=settings.windows,
              window_seconds=settings.window_seconds)


@contextlib.contextmanager
def running_session(config):
  """A session with variables and tables initialized and the queue runners started; stops them
  on exit."""
  import tensorflow as tf
  sess = tf.compat.v1.Session(config=config)
  sess.run([tf.compat.v1.global_variables_initializer(),
            tf.compat.v1.local_variables_initializer(), tf.compat.v1.tables_initializer()])
  coord = tf.train.Coordinator()
  threads = tf.compat.v1.train.start_queue_runners(sess, coord)
  try:
    yield sess
  finally:
    coord.request_stop()
    coord.join(threads, stop_grace_period_secs=10, ignore_live_threads=True)
    sess.close()


# --- the converter ----------------------------------------------------------------------------

def make_photos(photos_dir, photos_per_class, copies=1, seed=0):
  """Synthetic flower photos (240-500 px, like the real ones) in photos_dir/<class>/, each drawn
  photo present `copies` times (hard links, else copies: drawing costs ~20 ms a photo). Returns
  the relative paths."""
  drawn = synthetic_flowers.generate(photos_dir, photos_per_class, seed=seed)
  paths = list(drawn)
  for copy in range(1, copies):
    for relative in drawn:
      stem, ext = os.path.splitext(relative)
      target = '%s_copy%d%s' % (stem, copy, ext)
      source, destination = os.path.join(photos_dir, relative), os.path.join(photos_dir, target)
      if not os.path.exists(destination):
        try:
          os.link(source, destination)
        except OSError:
          shutil.copyfile(source, destination)
      paths.append(target)
  return paths


def _children_cpu_seconds():
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def converter_rate(photos_dir, dataset_dir, num_workers, num_validation, num_shards):
  """One convert_photos run (overwriting): images/s over the whole call, and the CPU time per
  image of this process and its (finished) worker processes."""
  from datasets import writer  # imports TensorFlow: before the clock, as the script does
  start, cpu_start, child_start = time.perf_counter(), time.process_time(), _children_cpu_seconds()
  manifest = writer.convert_photos(photos_dir, dataset_dir, dataset_name=DATASET_NAME,
                                   num_validation=num_validation, num_shards=num_shards,
                                   num_workers=num_workers, overwrite=True)
  seconds = time.perf_counter() - start
  cpu = time.process_time() - cpu_start + _children_cpu_seconds() - child_start
  images = sum(manifest['splits'][split]['num_samples'] for split in dataset_utils.SPLITS)
  return {'num_workers': num_workers, 'images': images, 'seconds': seconds,
          'images_per_sec': images / max(seconds, 1e-9), 'cpu_ms_per_image': 1000.0 * cpu / images}


def script_converter_rate(photos_dir, dataset_dir, num_workers, num_validation, num_shards):
  """download_and_convert_flowers.py --photos_dir in a subprocess, timed as a whole (its
  TensorFlow import included): what a user waits for."""
  command = [sys.executable, os.path.join(REPO_ROOT, 'download_and_convert_flowers.py'),
             '--photos_dir=%s' % photos_dir, '--dataset_dir=%s' % dataset_dir,
             '--num_workers=%d' % num_workers, '--num_validation=%d' % num_validation,
             '--num_shards=%d' % num_shards, '--overwrite']
  start, child_start = time.perf_counter(), _children_cpu_seconds()
  subprocess.run(command, check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
  seconds = time.perf_counter() - start
  images = len(photos_lib.list_photos(photos_dir)[1])
  return {'how': 'script', 'num_workers': num_workers, 'images': images, 'seconds': seconds,
          'images_per_sec': images / max(seconds, 1e-9),
          'cpu_ms_per_image': 1000.0 * (_children_cpu_seconds() - child_start) / images}


def bench_converter(photos_dir, dataset_dir, settings, cores):
  """convert_photos with 1 worker and with all cores, interleaved, best of the repeats; then
  (settings.converter_script) the script the same way, once each, into a scratch folder."""
  best = {}
  for _ in range(settings.converter_repeats):
    for workers in sorted({1, cores}):
      row = converter_rate(photos_dir, dataset_dir, workers, settings.num_validation,
                           settings.num_shards)
      row['how'] = 'convert_photos'
      _log('converter, %d worker(s): %.1f images/s' % (workers, row['images_per_sec']))
      if workers not in best or row['images_per_sec'] > best[workers]['images_per_sec']:
        best[workers] = row
  rows = [best[w] for w in sorted(best)]
  if settings.converter_script:
    scratch = dataset_dir + '_script'
    for workers in sorted({1, cores}):
      row = script_converter_rate(photos_dir, scratch, workers, settings.num_validation,
                                  settings.num_shards)
      _log('download_and_convert_flowers.py, %d worker(s): %.1f s'
           % (workers, row['seconds']))
      rows.append(row)
    shutil.rmtree(scratch, ignore_errors=True)
  return rows


# --- input ------------------------------------------------------------------------------------

def get_dataset(dataset_dir, split_name='train'):
  from datasets import dataset_factory
  return dataset_factory.get_dataset(DATASET_NAME, split_name, dataset_dir)


def training_batch(dataset, batch_size, pipeline='queue', fast_mode=True, decode_and_crop=True,
                   num_readers=4, num_preprocessing_threads=4, seed=0, image_size=224):
  """The trainer's input (trainer.build_input) with these settings."""
  from training import trainer
  config = trainer.TrainConfig(
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
  from preprocessing import inception_preprocessing
  autotune = tf.data.experimental.AUTOTUNE

  def decode(serialized):
    image, label = dataset.decoder.decode(serialized, ['image', 'label'])
    return image, label

  def preprocess(image, label):
    return inception_preprocessing.preprocess_image(image, image_size, image_size,
                                                    is_training=True, fast_mode=fast_mode), label

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
  from training import session
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


# --- training ---------------------------------------------------------------------------------

def in_memory_batch(batch_size, image_size, num_classes, device):
  """Preprocessed-looking images (uniform in [-1, 1]) and labels in variables on `device`."""
  import tensorflow as tf
  with tf.device(device), tf.name_scope('in_memory'):
    images = tf.Variable(tf.random.uniform([batch_size, image_size, image_size, 3], -1.0, 1.0,
                                           seed=1), trainable=False, name='images')
    labels = tf.Variable(tf.random.uniform([batch_size], 0, num_classes, tf.int64, seed=2),
                         trainable=False, name='labels')
  return tf.convert_to_tensor(images), tf.convert_to_tensor(labels)


def build_train_op(config, images, labels, num_classes, num_samples):
  """The compute half of the trainer's graph (trainer.build_train_op) for a batch; no summaries:
  they do not run per step."""
  from training import trainer
  return trainer.build_train_op(config, images, labels, num_classes, num_samples).train_op


INPUTS = ('memory', 'pipeline', 'trainer')


def train_rate(dataset_dir, batch_size, source='memory', precision='fp32', pipeline='queue',
               fast_mode=True, decode_and_crop=True, inter_op_threads=0, intra_op_threads=0,
               num_preprocessing_threads=4, timing=None):
  """Training images/s of the train op fed from `source`:
    memory   : a constant batch in variables on the model's device (no input work at all);
    pipeline : the trainer's input (or 'cached' for cached_decoded_batch) before the same op;
    trainer  : trainer.build_graph itself (its queue/tf_data input, the summaries built but only
               the train op run), i.e. what train_alexnet.py steps.
  The session is the trainer's: session.session_config(precision, threads).
  """
  import tensorflow as tf
  from training import session
  from training import trainer
  if source not in INPUTS:
    raise ValueError('unknown source %r; choose one of %s' % (source, ', '.join(INPUTS)))
  config = trainer.TrainConfig(dataset_dir=dataset_dir, train_dir='', batch_size=batch_size,
                               precision=precision, input_pipeline=pipeline, fast_mode=fast_mode,
                               decode_and_crop=decode_and_crop,
                               num_preprocessing_threads=num_preprocessing_threads)
  with tf.Graph().as_default() as graph:
    tf.compat.v1.set_random_seed(config.seed)
    dataset = get_dataset(dataset_dir, config.dataset_split_name)
    if source == 'trainer':
      train_op = trainer.build_graph(config, dataset)[0]
    else:
      if source == 'memory':
        images, labels = in_memory_batch(batch_size, 224, dataset.num_classes, model_device())
      else:
        batch = input_batch(dataset, batch_size, pipeline, fast_mode, decode_and_crop,
                            num_readers=config.num_readers,
                            num_preprocessing_threads=num_preprocessing_threads, seed=config.seed)
        images, labels = batch['images'], batch['labels']
      train_op = build_train_op(config, images, labels, dataset.num_classes, dataset.num_samples)
    session_config = session.session_config(precision, inter_op_threads=inter_op_threads,
                                            intra_op_threads=intra_op_threads)
    with running_session(session_config) as sess:
      graph.finalize()
      result = measure(lambda: sess.run(train_op), batch_size, **(timing or {}))
  result.update(source=source, precision=precision, batch_size=batch_size,
                pipeline=None if source == 'memory' else pipeline,
                fast_mode=fast_mode, decode_and_crop=decode_and_crop,
                inter_op_threads=inter_op_threads, intra_op_threads=intra_op_threads,
                num_preprocessing_threads=num_preprocessing_threads)
  return result


def _memory_child(conn, dataset_dir, batch_size, timing):
  """In a fresh process: trains as train_alexnet.py does and sends its rate and peak RSS."""
  try:
    _quiet_tensorflow()
    result = train_rate(dataset_dir, batch_size, source='trainer', timing=timing)
    result['peak_rss_bytes'] = peak_rss_bytes()
    conn.send(result)
  except BaseException as e:  # pylint: disable=broad-except
    conn.send({'error': '%s: %s' % (type(e).__name__, e)})
    raise
  finally:
    conn.close()


def training_peak_memory(dataset_dir, batch_size, timing, timeout=900):
  """Peak RSS (VmHWM) of a subprocess that builds trainer.build_graph at batch_size and trains a
  few steps. Also ru_maxrss of this process's children, only as a cross-check: on Linux a
  child started by fork+exec keeps the high-water mark of the forked copy of this (larger)
  process, so it overstates; VmHWM read inside the child is the figure."""
  context = multiprocessing.get_context('spawn')
  receiver, sender = context.Pipe(duplex=False)
  child = context.Process(target=_memory_child, args=(sender, dataset_dir, batch_size, timing))
  child.start()
  sender.close()
  try:
    if not receiver.poll(timeout):
      raise RuntimeError('the peak-memory subprocess sent nothing in %d s' % timeout)
    result = receiver.recv()
  finally:
    child.join(timeout=60)
    if child.is_alive():
      child.terminate()
      child.join()
  if 'error' in result:
    raise RuntimeError('the peak-memory subprocess failed: %s' % result['error'])
  result['children_ru_maxrss_bytes'] = (
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
  return result


# --- evaluation -------------------------------------------------------------------------------

def eval_rate(dataset_dir, batch_size, pipeline='queue', num_preprocessing_threads=4):
  """One pass of the evaluator's graph (evaluator.build_eval_graph: central-crop preprocessing,
  is_training=False, streaming metrics and the per-batch fetches of its pass hook) over the
  validation split, from freshly initialized weights. The rate counts the images after the
  first batch (which pays the start-up)."""
  import tensorflow as tf
  from training import evaluator
  config = evaluator.EvalConfig(dataset_dir=dataset_dir, checkpoint_path=dataset_dir,
                                eval_dir=dataset_dir, batch_size=batch_size,
                                input_pipeline=pipeline,
                                num_preprocessing_threads=num_preprocessing_threads)
  with tf.Graph().as_default() as graph:
    dataset = get_dataset(dataset_dir, config.dataset_split_name)
    eval_graph = evaluator.build_eval_graph(config, dataset)
    fetches = [eval_graph.update_op, eval_graph.collect['labels'], eval_graph.collect]
    with running_session(evaluator.session_config(config.eval_device)) as sess:
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
  return {'pipeline': pipeline, 'batch_size': batch_size, 'images': first + images,
          'pass_seconds': end - pass_start,
          'images_per_sec': images / seconds if images else None,
          'cpu_ms_per_image': 1000.0 * (time.process_time() - cpu_start) / images if images
                              else None}


def eval_forward_rate(batch_size, timing=None):
  """The evaluation net alone (is_training=False, global_pool as the evaluator) on a batch in
  memory: the limit the evaluation input could reach."""
  import tensorflow as tf
  from nets import nets_factory
  from training import session
  with tf.Graph().as_default() as graph:
    network_fn = nets_factory.get_network_fn(MODEL_NAME, 5, is_training=False)
    device = model_device()
    images, _ = in_memory_batch(batch_size, network_fn.default_image_size, 5, device)
    with tf.device(device):
      logits, _ = network_fn(images, global_pool=True)
      predictions = tf.argmax(logits, 1)  # fetched: a tf.group of it gets pruned away
    with running_session(session.session_config()) as sess:
      graph.finalize()
      result = measure(lambda: sess.run(predictions), batch_size, **(timing or {}))
  result.update(pipeline='memory', batch_size=batch_size)
  return result


# --- the limit: matmul peak and FLOPs ---------------------------------------------------------

MATMUL_DTYPES = {'fp32': 'float32', 'bf16': 'bfloat16', 'fp16': 'float16'}


def matmul_peak(precision, size, timing=None):
  """GFLOP/s of tf.linalg.matmul of two size x size matrices in `precision`, on the model's
  device, with the trainer's session settings (threads included)."""
  import tensorflow as tf
  from training import session
  dtype = tf.as_dtype(MATMUL_DTYPES[precision])
  with tf.Graph().as_default() as graph:
    with tf.device(model_device()):
      a = tf.Variable(tf.cast(tf.random.uniform([size, size], seed=1), dtype))
      b = tf.Variable(tf.cast(tf.random.uniform([size, size], seed=2), dtype))
      # One element is fetched so that each step waits for the product (GPU kernels are
      # asynchronous; running the op as a target could return before it is done).
      corner = tf.linalg.matmul(a, b)[0, 0]
    with running_session(session.session_config()) as sess:
      graph.finalize()
      result = measure(lambda: sess.run(corner), 1, **(timing or {}))
  flops = 2.0 * size ** 3
  return {'precision': precision, 'size': size,
          'gflops': result['images_per_sec'] * flops / 1e9,
          'median_gflops': result['median_images_per_sec'] * flops / 1e9,
          'gflops_per_cpu_second': flops / 1e9 / (result['cpu_ms_per_image'] / 1000.0),
          'cores_used': result['cores_used']}


def profiler_float_ops(batch_size, image_size=224, num_classes=5):
  """TensorFlow's profiler count of float ops of the training-mode net on one batch:
  {layer (e.g. 'conv1', 'fc6'; 'other' outside the net): float ops}."""
  import tensorflow as tf
  from nets import nets_factory
  builder = tf.compat.v1.profiler.ProfileOptionBuilder
  options = builder(builder.float_operation()).with_empty_output().build()
  with tf.Graph().as_default() as graph:
    network_fn = nets_factory.get_network_fn(MODEL_NAME, num_classes, weight_decay=0.0005,
                                             is_training=True)
    network_fn(tf.zeros([batch_size, image_size, image_size, 3]))
    root = tf.compat.v1.profiler.profile(graph, cmd='scope', options=options)
  layers = {}
  nodes = list(root.children)
  while nodes:
    node = nodes.pop()
    nodes.extend(node.children)
    layers[_layer_of(node.name)] = layers.get(_layer_of(node.name), 0) + node.float_ops
  return layers


def _layer_of(op_name):
  """'conv1' for 'alexnet_v2/conv1/Conv2D', 'gradients/alexnet_v2/conv1/...' or
  'Momentum/update_alexnet_v2/conv1/weights/...'."""
  parts = op_name.split('/')
  for i, part in enumerate(parts[:-1]):
    if part == MODEL_NAME or part.endswith('_' + MODEL_NAME):  # e.g. update_alexnet_v2
      return parts[i + 1]
  return 'other'


FLOPS_METHOD = (
    'forward = profiler float ops (tf.compat.v1.profiler, float_operation) of the training-mode '
    'net at batch 2 minus at batch 1, so per-batch ops (weight initializers, L2 regularizers) '
    'cancel; training = 3 x forward (backward = input gradients + weight gradients, each as '
    'many multiply-adds as the forward). The profiler is not used for the backward: it registers '
    'Conv2DBackprop* but assumes output = input / stride, which counts the VALID fc6 (5x5 on '
    '5x5) 25 times over. 3x includes conv1\'s input gradient, which TF prunes (~3%).')


def training_flops_per_image():
  one, two = profiler_float_ops(1), profiler_float_ops(2)
  per_layer = {layer: two.get(layer, 0) - one.get(layer, 0) for layer in two}
  forward = sum(per_layer.values())
  return {'forward_per_image': int(forward), 'training_per_image': int(3 * forward),
          'forward_per_layer': {k: int(v) for k, v in per_layer.items() if v},
          'method': FLOPS_METHOD}


def step_profile(dataset_dir, batch_size, precision='fp32', warmup_steps=3):
  """Where one training step's time goes: a FULL_TRACE step of the in-memory train op, its
  kernels' time summed by layer (its forward, backward, L2 regularizer and weight update;
  'other' is the rest: loss, accuracy, learning rate) and by op type. Threads overlap, so the
  sum exceeds the wall time: shares are of the sum."""
  import tensorflow as tf
  from training import session
  from training import trainer
  config = trainer.TrainConfig(dataset_dir=dataset_dir, train_dir='', batch_size=batch_size,
                               precision=precision)
  with tf.Graph().as_default() as graph:
    dataset = get_dataset(dataset_dir)
    images, labels = in_memory_batch(batch_size, 224, dataset.num_classes, model_device())
    train_op = build_train_op(config, images, labels, dataset.num_classes, dataset.num_samples)
    with running_session(session.session_config(precision)) as sess:
      graph.finalize()
      for _ in range(warmup_steps):
        sess.run(train_op)
      metadata = tf.compat.v1.RunMetadata()
      options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
      start = time.perf_counter()
      sess.run(train_op, options=options, run_metadata=metadata)
      wall = time.perf_counter() - start
  by_layer, by_type = {}, {}
  for device in metadata.step_stats.dev_stats:
    for node in device.node_stats:
      seconds = (node.op_end_rel_micros - node.op_start_rel_micros) / 1e6
      op_type = node.timeline_label.partition(' = ')[2].split('(')[0] or node.node_name
      layer = _layer_of(node.node_name)
      by_layer[layer] = by_layer.get(layer, 0.0) + seconds
      by_type[op_type] = by_type.get(op_type, 0.0) + seconds
  total = sum(by_layer.values()) or 1e-9

  def shares(table):
    return [{'name': k, 'seconds': v, 'share': v / total}
            for k, v in sorted(table.items(), key=lambda kv: -kv[1]) if v / total >= 0.001]

  return {'precision': precision, 'batch_size': batch_size, 'wall_seconds': wall,
          'op_seconds': total, 'by_layer': shares(by_layer), 'by_type': shares(by_type)}


def utilization(training_rows, flops, peaks):
  """Achieved GFLOP/s of each training row and its fraction of the matmul peak of its precision;
  also both per CPU-second of this process (cpu_fraction), which other users' load on a shared
  machine hardly changes."""
  peaks = {p['precision']: p for p in peaks}
  rows = []
  for row in training_rows:
    gflops = row['images_per_sec'] * flops['training_per_image'] / 1e9
    peak = peaks.get(row['precision'], {})
    per_cpu = (flops['training_per_image'] / 1e9 / (row['cpu_ms_per_image'] / 1000.0)
               if row.get('cpu_ms_per_image') else None)
    peak_gflops, peak_per_cpu = peak.get('gflops'), peak.get('gflops_per_cpu_second')
    rows.append({'source': row['source'], 'precision': row['precision'],
                 'batch_size': row['batch_size'], 'gflops': gflops, 'peak_gflops': peak_gflops,
                 'fraction_of_peak': gflops / peak_gflops if peak_gflops else None,
                 'gflops_per_cpu_second': per_cpu,
                 'cpu_fraction': per_cpu / peak_per_cpu if per_cpu and peak_per_cpu else None})
  return rows


# --- targets ----------------------------------------------------------------------------------

def _find(rows, **match):
  for row in rows or ():
    if all(row.get(k) == v for k, v in match.items()):
      return row
  return None


def _ratio(a, b, key='images_per_sec'):
  if a is None or b is None or not b.get(key) or a.get(key) is None:
    return None
  return a[key] / b[key]


def _cpu_ratio(a, b, scale=1.0):
  """b's CPU time per image over a's (times scale): a/b's throughput ratio when both runs are
  CPU-bound on the same number of cores (scale: a's cores over b's)."""
  return _ratio(b, a, 'cpu_ms_per_image') * scale if _ratio(b, a, 'cpu_ms_per_image') else None


def targets(results, batch_size=32):
  """The issue's targets (on a 2-core CPU), each with its figure and met True/False (None when
  not measured here), and a CPU-time estimate of the figure: what it would be if this process
  had its cores to itself and stayed CPU-bound (other users' load hardly changes it)."""
  machine = results.get('machine', {})
  training = results.get('training')
  memory_fp32 = _find(training, source='memory', precision='fp32', batch_size=batch_size)
  pipeline_fp32 = _find(training, source='pipeline', precision='fp32', batch_size=batch_size)
  mixed = machine.get('mixed_precision')
  memory_mixed = _find(training, source='memory', precision=mixed, batch_size=batch_size)
  converter = {row['num_workers']: row for row in results.get('converter') or ()
               if row.get('how', 'convert_photos') == 'convert_photos'}
  cores = machine.get('cores', 1)
  use = _find(results.get('utilization'), source='memory', precision='fp32',
              batch_size=batch_size) or {}
  rss = (results.get('memory') or {}).get('peak_rss_bytes')
  one, all_cores = converter.get(1), converter.get(cores) if cores > 1 else None
  figures = [
      ('full pipeline / in-memory training (fp32, batch %d)' % batch_size, '>=', 0.95,
       _ratio(pipeline_fp32, memory_fp32), _cpu_ratio(pipeline_fp32, memory_fp32)),
      ('%s / fp32 training (in-memory, batch %d)' % (mixed or 'bf16', batch_size), '>=', 1.35,
       _ratio(memory_mixed, memory_fp32), _cpu_ratio(memory_mixed, memory_fp32)),
      ('fp32 training / fp32 matmul peak (in-memory, batch %d)' % batch_size, '>=', 0.6,
       use.get('fraction_of_peak'), use.get('cpu_fraction')),
      ('converter, all %d cores / 1 worker' % cores, '>=', 1.8,
       _ratio(all_cores, one), _cpu_ratio(all_cores, one, float(cores))),
      ('peak RSS of training at batch %d (GB)' % batch_size, '<=', 2.5,
       rss / GB if rss else None, None),
  ]
  out = []
  for name, op, target, figure, estimate in figures:
    met = None if figure is None else (figure >= target if op == '>=' else figure <= target)
    out.append({'name': name, 'target': '%s %g' % (op, target), 'figure': figure, 'met': met,
                'cpu_estimate': estimate})
  return out


# --- the report -------------------------------------------------------------------------------

def _cell(value, fmt):
  if value is None:
    return '-'
  if isinstance(value, bool):
    return 'yes' if value else 'no'
  return fmt % value if fmt else str(value)


def format_table(title, columns, rows):
  """A text table: columns are (header, key, printf format or None)."""
  cells = [[header for header, _, _ in columns]]
  for row in rows:
    cells.append([_cell(row.get(key), fmt) for _, key, fmt in columns])
  widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
  lines = [title]
  for i, line in enumerate(cells):
    lines.append('  ' + '  '.join(c.rjust(w) if i and j else c.ljust(w)
                                  for j, (c, w) in enumerate(zip(line, widths))))
  return '\n'.join(lines)


RATE = ('images/s', 'images_per_sec', '%.1f')
MEDIAN = ('median', 'median_images_per_sec', '%.1f')
CPU = ('CPU ms/img', 'cpu_ms_per_image', '%.1f')
CORES = ('cores used', 'cores_used', '%.2f')


def profile_rows(flops, profiles):
  """One row per layer: its share of the forward FLOPs and of each profile's step time (%)."""
  per_layer = flops['forward_per_layer']
  total = float(sum(per_layer.values())) or 1.0
  layers = sorted(set(per_layer) | {r['name'] for p in profiles for r in p['by_layer']},
                  key=lambda name: (name == 'other', name))
  rows = []
  for layer in layers:
    row = {'layer': layer, 'flops_share': 100.0 * per_layer.get(layer, 0) / total}
    for profile in profiles:
      shares = {r['name']: r['share'] for r in profile['by_layer']}
      row[profile['precision']] = 100.0 * shares.get(layer, 0.0)
    rows.append(row)
  return rows


def report(results):
  """The whole result as text tables."""
  machine = results['machine']
  parts = ['Machine: %s, %d cores, bf16 %s, GPUs: %s; TensorFlow %s; load average %s -> %s'
           % (machine['cpu'], machine['cores'], 'yes' if machine['bf16'] else 'no',
              ', '.join(machine['gpus']) or 'none', machine['tensorflow'],
              ' '.join('%.2f' % x for x in results['load_before']),
              ' '.join('%.2f' % x for x in results.get('load_after', ())))]
  parts.append('Command: %s (mode %s)' % (results['command'], results['mode']))
  if results.get('converter'):
    parts.append(format_table('Converter (convert_photos, %s synthetic photos)'
                              % results['converter'][0]['images'],
                              [('run', 'how', None), ('workers', 'num_workers', '%d'), RATE, CPU,
                               ('seconds', 'seconds', '%.1f')], results['converter']))
  if results.get('pipeline'):
    parts.append(format_table('Input pipeline alone (training preprocessing, batch %d)'
                              % results['pipeline'][0]['batch_size'],
                              [('pipeline', 'pipeline', None), ('fast_mode', 'fast_mode', None),
                               ('decode_and_crop', 'decode_and_crop', None), RATE, MEDIAN, CPU,
                               CORES],
                              results['pipeline']))
  if results.get('training'):
    parts.append(format_table('Training (train op images/s; memory = constant batch, pipeline '
                              '= queue input + inception preprocessing, trainer = '
                              'trainer.build_graph)',
                              [('input', 'source', None), ('precision', 'precision', None),
                               ('batch', 'batch_size', '%d'), RATE, MEDIAN, CPU, CORES,
                               ('pipeline/memory', 'input_ratio', '%.3f')], results['training']))
  if results.get('evaluation'):
    parts.append(format_table('Evaluation (is_training=False, central crop, one pass of the '
                              'validation split)',
                              [('input', 'pipeline', None), ('batch', 'batch_size', '%d'),
                               ('images', 'images', None), RATE, CPU,
                               ('pass s', 'pass_seconds', '%.1f')], results['evaluation']))
  if results.get('peaks'):
    parts.append(format_table('Matmul peak (tf.linalg.matmul, trainer session settings)',
                              [('precision', 'precision', None), ('size', 'size', '%d'),
                               ('GFLOP/s', 'gflops', '%.1f'),
                               ('median', 'median_gflops', '%.1f'),
                               ('GFLOP/CPU-s', 'gflops_per_cpu_second', '%.1f'), CORES],
                              results['peaks']))
  if results.get('flops'):
    flops = results['flops']
    parts.append('FLOPs per image: forward %.3f G, training %.3f G\n  (%s)'
                 % (flops['forward_per_image'] / 1e9, flops['training_per_image'] / 1e9,
                    flops['method']))
  if results.get('profiles') and results.get('flops'):
    parts.append(format_table(
        'Where a training step goes (in-memory, batch %d; share of summed kernel time of one '
        'traced step, by layer: forward + backward + regularizer + update)'
        % results['profiles'][0]['batch_size'],
        [('layer', 'layer', None), ('forward FLOPs', 'flops_share', '%.1f%%')] +
        [('%s time' % p['precision'], p['precision'], '%.1f%%') for p in results['profiles']],
        profile_rows(results['flops'], results['profiles'])))
    for profile in results['profiles']:
      parts.append('  top kernels, %s: %s' % (profile['precision'], ', '.join(
          '%s %.0f%%' % (row['name'], 100 * row['share']) for row in profile['by_type'][:6])))
  if results.get('utilization'):
    parts.append(format_table('Training against the peak', [
        ('input', 'source', None), ('precision', 'precision', None),
        ('batch', 'batch_size', '%d'), ('GFLOP/s', 'gflops', '%.1f'),
        ('peak', 'peak_gflops', '%.1f'), ('fraction', 'fraction_of_peak', '%.2f'),
        ('GFLOP/CPU-s', 'gflops_per_cpu_second', '%.1f'), ('CPU fraction', 'cpu_fraction', '%.2f')],
        results['utilization']))
  if results.get('memory'):
    memory = results['memory']
    parts.append('Peak RSS of training (trainer.build_graph, batch %d, fp32, in a subprocess): '
                 '%.2f GB (VmHWM); %.1f images/s there'
                 % (memory['batch_size'], memory['peak_rss_bytes'] / GB,
                    memory['images_per_sec']))
  if results.get('explore'):
    parts.append(format_table('Explorations (batch %d, fp32)' % results['explore'][0]['batch_size'],
                              [('what', 'what', None), RATE, MEDIAN, CPU, CORES,
                               ('vs baseline', 'vs_baseline', '%.3f')], results['explore']))
  for name, error in sorted((results.get('errors') or {}).items()):
    parts.append('Section %s failed: %s' % (name, error))
  if results.get('targets'):
    parts.append(format_table('Targets (from the issue, for a 2-core CPU)', [
        ('target', 'name', None), ('wanted', 'target', None), ('figure', 'figure', '%.3f'),
        ('met', 'met', None), ('CPU-time estimate', 'cpu_estimate', '%.3f')],
        results['targets']))
  return '\n\n'.join(parts)


# --- the run ----------------------------------------------------------------------------------

def _keep_best(rows, row):
  """Replaces the row of the same source, precision and batch size by `row` when it is faster;
  the kept row lists the rate of every round."""
  key = dict(source=row['source'], precision=row['precision'], batch_size=row['batch_size'])
  old = _find(rows, **key)
  rates = old.get('round_rates', [old['images_per_sec']]) + [row['images_per_sec']]
  best = row if row['images_per_sec'] > old['images_per_sec'] else old
  best['round_rates'] = [round(r, 2) for r in rates]
  rows[rows.index(old)] = best


def _with_input_ratios(rows):
  for row in rows:
    if row['source'] != 'memory':
      base = _find(rows, source='memory', precision=row['precision'],
                   batch_size=row['batch_size'])
      row['input_ratio'] = _ratio(row, base)
  return rows


def explore_runs(dataset_dir, settings, batch_size, baselines):
  """Thread settings, the other pipelines, decode_and_crop off, decoded-image caching and fewer
  preprocessing threads, each against its baseline (fp32)."""
  timing = _timing(settings)
  memory, pipeline = baselines
  runs = [
      ('memory, inter 1 / intra 2 threads', memory,
       dict(source='memory', inter_op_threads=1, intra_op_threads=2)),
      ('memory, inter 2 / intra 1 threads', memory,
       dict(source='memory', inter_op_threads=2, intra_op_threads=1)),
      ('pipeline, inter 1 / intra 2 threads', pipeline,
       dict(source='pipeline', inter_op_threads=1, intra_op_threads=2)),
      ('pipeline, 2 preprocessing threads', pipeline,
       dict(source='pipeline', num_preprocessing_threads=2)),
      ('pipeline, tf_data', pipeline, dict(source='pipeline', pipeline='tf_data')),
      ('pipeline, decode_and_crop off', pipeline, dict(source='pipeline', decode_and_crop=False)),
      ('pipeline, cached decoded images (tf.data)', pipeline,
       dict(source='pipeline', pipeline='cached')),
  ]
  rows = []
  for what, base, kwargs in runs:
    row = train_rate(dataset_dir, batch_size, timing=timing, **kwargs)
    row['what'] = what
    row['vs_baseline'] = _ratio(row, base)
    _log('explore, %s: %.1f images/s' % (what, row['images_per_sec']))
    rows.append(row)
  return rows


@dataclasses.dataclass
class _Run:
  settings: Settings
  dataset_dir: str
  photos_dir: str
  machine: dict
  results: dict

  @property
  def timing(self):
    return _timing(self.settings)

  @property
  def precisions(self):
    mixed = self.machine['mixed_precision']
    return ['fp32'] + ([mixed] if mixed else [])

  @property
  def target_batch_size(self):
    return 32 if 32 in self.settings.batch_sizes else self.settings.batch_sizes[0]


def _converter_section(r):
  r.results['converter'] = bench_converter(r.photos_dir, r.dataset_dir, r.settings,
                                           r.machine['cores'])


def _pipeline_section(r):
  rows = r.results['pipeline'] = []
  for pipeline in ('queue', 'tf_data'):
    for fast_mode in (True, False):
      for decode_and_crop in (True, False):
        row = pipeline_rate(r.dataset_dir, r.settings.pipeline_batch_size, pipeline, fast_mode,
                            decode_and_crop, timing=r.timing)
        _log('pipeline %s fast_mode=%s decode_and_crop=%s: %.1f images/s'
             % (pipeline, fast_mode, decode_and_crop, row['images_per_sec']))
        rows.append(row)
  row = pipeline_rate(r.dataset_dir, r.settings.pipeline_batch_size, 'cached', True, False,
                      timing=r.timing)
  _log('pipeline cached decoded images: %.1f images/s' % row['images_per_sec'])
  rows.append(row)


def _training_section(r):
  rows = []
  for batch_size in r.settings.batch_sizes:
    for precision in r.precisions:
      for source in ('memory', 'pipeline'):
        row = train_rate(r.dataset_dir, batch_size, source, precision, timing=r.timing)
        _log('training %s %s batch %d: %.1f images/s'
             % (source, precision, batch_size, row['images_per_sec']))
        rows.append(row)
  for _ in range(r.settings.rounds - 1):
    for precision in r.precisions:
      for source in ('memory', 'pipeline'):
        row = train_rate(r.dataset_dir, r.target_batch_size, source, precision, timing=r.timing)
        _log('training %s %s batch %d, again: %.1f images/s'
             % (source, precision, r.target_batch_size, row['images_per_sec']))
        _keep_best(rows, row)
  row = train_rate(r.dataset_dir, r.target_batch_size, 'trainer', 'fp32', timing=r.timing)
  _log('training as trainer.build_graph, batch %d: %.1f images/s'
       % (r.target_batch_size, row['images_per_sec']))
  rows.append(row)
  r.results['training'] = _with_input_ratios(rows)


def _evaluation_section(r):
  rows = r.results['evaluation'] = []
  for pipeline in ('queue', 'tf_data'):
    row = eval_rate(r.dataset_dir, r.settings.eval_batch_size, pipeline)
    _log('evaluation %s: %s images/s' % (pipeline, row['images_per_sec']))
    rows.append(row)
  row = eval_forward_rate(r.settings.eval_batch_size, r.timing)
  row['images'] = None
  _log('evaluation net alone: %.1f images/s' % row['images_per_sec'])
  rows.append(row)


def _limits_section(r):
  peaks = r.results['peaks'] = []
  for precision in r.precisions:
    peak = matmul_peak(precision, r.settings.matmul_size, r.timing)
    _log('matmul peak %s: %.1f GFLOP/s' % (precision, peak['gflops']))
    peaks.append(peak)
  r.results['flops'] = training_flops_per_image()
  if r.results.get('training'):
    r.results['utilization'] = utilization(r.results['training'], r.results['flops'], peaks)
  profiles = r.results['profiles'] = []
  for precision in r.precisions:
    profiles.append(step_profile(r.dataset_dir, r.target_batch_size, precision))
    _log('profiled a %s training step' % precision)


def _memory_section(r):
  memory = r.results['memory'] = training_peak_memory(r.dataset_dir, 32, dict(r.timing, windows=1))
  _log('peak RSS of training at batch 32: %.2f GB' % (memory['peak_rss_bytes'] / GB))


def _explore_section(r):
  baselines = [_find(r.results.get('training'), source=source, precision='fp32',
                     batch_size=r.target_batch_size) for source in ('memory', 'pipeline')]
  r.results['explore'] = explore_runs(r.dataset_dir, r.settings, r.target_batch_size, baselines)


_SECTION_RUNNERS = {
    'converter': _converter_section,
    'pipeline': _pipeline_section,
    'training': _training_section,
    'evaluation': _evaluation_section,
    'limits': _limits_section,
    'memory': _memory_section,
    'explore': _explore_section,
}


def run(work_dir, settings, sections=SECTIONS, command='', mode=''):
  """Runs the sections into a results dict (converting a synthetic photo tree in work_dir).
  A section that fails is logged and recorded under 'errors'; the others still run."""
  results = {'command': command, 'mode': mode, 'settings': dataclasses.asdict(settings),
             'load_before': list(os.getloadavg()), 'started': time.strftime('%Y-%m-%d %H:%M:%S'),
             'errors': {}}
  r = _Run(settings, os.path.join(work_dir, 'dataset'), os.path.join(work_dir, 'photos'),
           machine_info(), results)
  results['machine'] = r.machine
  if not os.path.isdir(r.photos_dir):
    _log('drawing %d synthetic photos (each %d times) into %s'
         % (5 * settings.photos_per_class, settings.photo_copies, r.photos_dir))
    make_photos(r.photos_dir, settings.photos_per_class, settings.photo_copies)
  from datasets import checks  # imports TensorFlow, which the converter's workers must not
  if 'converter' not in sections and not checks.check_complete(r.dataset_dir, DATASET_NAME)[0]:
    converter_rate(r.photos_dir, r.dataset_dir, r.machine['cores'], settings.num_validation,
                   settings.num_shards)
  # Explorations compare against the training rows, and the peak against both.
  needed = set(sections) | ({'training'} if 'explore' in sections else set())
  for name in SECTIONS:
    if name in needed:
      try:
        _SECTION_RUNNERS[name](r)
      except Exception as e:  # pylint: disable=broad-except
        _log('section %s failed: %s: %s' % (name, type(e).__name__, e))
        results['errors'][name] = '%s: %s' % (type(e).__name__, e)
  results['targets'] = targets(results)
  results['load_after'] = list(os.getloadavg())
  results['finished'] = time.strftime('%Y-%m-%d %H:%M:%S')
  return results


def _quiet_tensorflow():
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  import warnings
  warnings.filterwarnings('ignore')
  import tensorflow as tf
  tf.get_logger().setLevel('ERROR')
  tf.compat.v1.disable_eager_execution()


def write_json(path, results):
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  base.write_text_atomic(path, json.dumps(results, indent=2, sort_keys=True,
                                                   default=str) + '\n')


def parse_args(argv):
  parser = argparse.ArgumentParser(prog='python -m bench.run', description=__doc__.split('\n')[0])
  parser.add_argument('--quick', action='store_true', help='few steps, batch 32 only')
  parser.add_argument('--output', default='runs/bench/results.json', help='the JSON file')
  parser.add_argument('--work_dir', default=None,
                      help='keep the synthetic photos and dataset here (default: a temporary '
                           'folder, removed afterwards)')
  parser.add_argument('--sections', default=','.join(SECTIONS),
                      help='comma-separated subset of: %s' % ', '.join(SECTIONS))
  args = parser.parse_args(argv)
  args.sections = tuple(s for s in args.sections.split(',') if s)
  unknown = set(args.sections) - set(SECTIONS)
  if unknown:
    parser.error('unknown section(s) %s; choose from %s'
                 % (', '.join(sorted(unknown)), ', '.join(SECTIONS)))
  return args


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  _quiet_tensorflow()
  mode = 'quick' if args.quick else 'full'
  command = 'python -m bench.run ' + ' '.join(sys.argv[1:] if argv is None else argv)
  work_dir = args.work_dir or tempfile.mkdtemp(prefix='bench_')
  os.makedirs(work_dir, exist_ok=True)
  try:
    results = run(work_dir, MODES[mode], args.sections, command.strip(), mode)
  finally:
    if not args.work_dir:
      shutil.rmtree(work_dir, ignore_errors=True)
  print(report(results))
  write_json(args.output, results)
  print('\nWrote %s' % args.output)
  return 1 if results['errors'] else 0


if __name__ == '__main__':
  sys.exit(main())
