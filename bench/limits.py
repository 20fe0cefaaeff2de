"""The limits section: this machine's matrix-multiply peak, the training FLOPs per image of each
net counted by TensorFlow's profiler, where a traced training step spends its time (by layer and
kernel), and the fraction of the peak each training row reaches."""
import time

from bench.config import MODEL_NAME
from bench.config import MODELS
from bench.input_rate import get_dataset
from bench.machine import model_device
from bench.timing import log
from bench.timing import measure
from bench.timing import running_session
from bench.training_rate import build_train_op
from bench.training_rate import in_memory_batch

MATMUL_DTYPES = {'fp32': 'float32', 'bf16': 'bfloat16', 'fp16': 'float16'}

FLOPS_METHOD = (
    'forward = profiler float ops (tf.compat.v1.profiler, float_operation) of the training-mode '
    'net at batch 2 minus at batch 1, so per-batch ops (weight initializers, L2 regularizers) '
    'cancel; training = 3 x forward (backward = input gradients + weight gradients, each as '
    'many multiply-adds as the forward). The profiler is not used for the backward: it registers '
    'Conv2DBackprop* but assumes output = input / stride, which counts the VALID fc6 (5x5 on '
    '5x5) 25 times over. 3x includes conv1\'s input gradient, which TF prunes (~3%).')


def matmul_peak(precision, size, timing=None):
  """GFLOP/s of tf.linalg.matmul of two size x size matrices in `precision`, on the model's
  device, with the trainer's session settings (threads included)."""
  import tensorflow as tf

  from rundir import session
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


def layer_of(op_name):
  """'conv1' for 'alexnet_v2/conv1/Conv2D', 'gradients/alexnet_tv/conv1/...' or
  'Momentum/update_alexnet_v2/conv1/weights/...' (the scope of any net in MODELS)."""
  parts = op_name.split('/')
  for i, part in enumerate(parts[:-1]):
    if any(part == net or part.endswith('_' + net) for net in MODELS):  # e.g. update_alexnet_v2
      return parts[i + 1]
  return 'other'


def profiler_float_ops(batch_size, model_name=MODEL_NAME, image_size=224, num_classes=5):
  """TensorFlow's profiler count of float ops of the training-mode net `model_name` on one
  batch: {layer (e.g. 'conv1', 'fc6'; 'other' outside the net): float ops}."""
  import tensorflow as tf

  from nets import nets_factory
  builder = tf.compat.v1.profiler.ProfileOptionBuilder
  options = builder(builder.float_operation()).with_empty_output().build()
  with tf.Graph().as_default() as graph:
    network_fn = nets_factory.get_network_fn(model_name, num_classes, weight_decay=0.0005,
                                             is_training=True)
    network_fn(tf.zeros([batch_size, image_size, image_size, 3]))
    root = tf.compat.v1.profiler.profile(graph, cmd='scope', options=options)
  layers = {}
  nodes = list(root.children)
  while nodes:
    node = nodes.pop()
    nodes.extend(node.children)
    layers[layer_of(node.name)] = layers.get(layer_of(node.name), 0) + node.float_ops
  return layers


def training_flops_per_image(model_name=MODEL_NAME):
  one, two = profiler_float_ops(1, model_name), profiler_float_ops(2, model_name)
  per_layer = {layer: two.get(layer, 0) - one.get(layer, 0) for layer in two}
  forward = sum(per_layer.values())
  return {'forward_per_image': int(forward), 'training_per_image': int(3 * forward),
          'forward_per_layer': {k: int(v) for k, v in per_layer.items() if v},
          'method': FLOPS_METHOD}


def _traced_step(dataset_dir, batch_size, precision, warmup_steps):
  """The RunMetadata of one FULL_TRACE step of the in-memory train op, and its wall time."""
  import tensorflow as tf

  from rundir import session
  from training import train_config
  config = train_config.TrainConfig(dataset_dir=dataset_dir, train_dir='', batch_size=batch_size,
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
      return metadata, time.perf_counter() - start


def step_profile(dataset_dir, batch_size, precision='fp32', warmup_steps=3):
  """Where one training step's time goes: a FULL_TRACE step of the in-memory train op, its
  kernels' time summed by layer (its forward, backward, L2 regularizer and weight update;
  'other' is the rest: loss, accuracy, learning rate) and by op type. Threads overlap, so the
  sum exceeds the wall time: shares are of the sum."""
  metadata, wall = _traced_step(dataset_dir, batch_size, precision, warmup_steps)
  by_layer, by_type = {}, {}
  for device in metadata.step_stats.dev_stats:
    for node in device.node_stats:
      seconds = (node.op_end_rel_micros - node.op_start_rel_micros) / 1e6
      op_type = node.timeline_label.partition(' = ')[2].split('(')[0] or node.node_name
      layer = layer_of(node.node_name)
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
  machine hardly changes. flops: {net: training_flops_per_image(net)}; a row of a net without
  them is left out."""
  peaks = {p['precision']: p for p in peaks}
  rows = []
  for row in training_rows:
    model = row['model']
    if model not in flops:
      continue
    per_image = flops[model]['training_per_image']
    gflops = row['images_per_sec'] * per_image / 1e9
    peak = peaks.get(row['precision'], {})
    per_cpu = (per_image / 1e9 / (row['cpu_ms_per_image'] / 1000.0)
               if row.get('cpu_ms_per_image') else None)
    peak_gflops, peak_per_cpu = peak.get('gflops'), peak.get('gflops_per_cpu_second')
    rows.append({'model': model, 'source': row['source'], 'precision': row['precision'],
                 'batch_size': row['batch_size'], 'gflops': gflops, 'peak_gflops': peak_gflops,
                 'fraction_of_peak': gflops / peak_gflops if peak_gflops else None,
                 'gflops_per_cpu_second': per_cpu,
                 'cpu_fraction': per_cpu / peak_per_cpu if per_cpu and peak_per_cpu else None})
  return rows


def run_section(bench):
  """The matmul peak and a traced step in each precision, the FLOPs of each net, and (after the
  training section) the training rows against the peak."""
  results = bench.results
  peaks = results['peaks'] = []
  for precision in bench.precisions:
    peak = matmul_peak(precision, bench.settings.matmul_size, bench.timing)
    log('matmul peak %s: %.1f GFLOP/s' % (precision, peak['gflops']))
    peaks.append(peak)
  results['flops'] = {model: training_flops_per_image(model) for model in MODELS}
  if results.get('training'):
    results['utilization'] = utilization(results['training'], results['flops'], peaks)
  profiles = results['profiles'] = []
  for precision in bench.precisions:
    profiles.append(step_profile(bench.dataset_dir, bench.target_batch_size, precision))
    log('profiled a %s training step' % precision)
