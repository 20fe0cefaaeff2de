"""The training section: images/s of the trainer's train op fed from a constant batch in memory,
from the full input pipeline, and as trainer.build_graph builds it (what train_alexnet.py steps),
in fp32 and this machine's mixed precision; the pipeline/memory and trainer/memory ratios say
whether input holds training back. The other nets (config.OTHER_MODELS) train from memory."""
from bench.config import MODEL_NAME
from bench.config import OTHER_MODELS
from bench.input_rate import get_dataset
from bench.input_rate import input_batch
from bench.machine import model_device
from bench.timing import find_row
from bench.timing import log
from bench.timing import measure
from bench.timing import ratio
from bench.timing import running_session

INPUTS = ('memory', 'pipeline', 'trainer')


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


def _train_op(config, dataset, source):
  """The train op of `source` (see train_rate) in the default graph."""
  from training import trainer
  if source == 'trainer':
    return trainer.build_graph(config, dataset)[0]
  if source == 'memory':
    from nets import nets_factory
    images, labels = in_memory_batch(config.batch_size, nets_factory.image_size(config.model_name),
                                     dataset.num_classes, model_device())
  else:
    batch = input_batch(dataset, config.batch_size, config.input_pipeline, config.fast_mode,
                        config.decode_and_crop, num_readers=config.num_readers,
                        num_preprocessing_threads=config.num_preprocessing_threads,
                        seed=config.seed)
    images, labels = batch['images'], batch['labels']
  return build_train_op(config, images, labels, dataset.num_classes, dataset.num_samples)


def train_rate(dataset_dir, batch_size, source='memory', precision='fp32', pipeline='queue',
               fast_mode=True, decode_and_crop=True, inter_op_threads=0, intra_op_threads=0,
               num_preprocessing_threads=4, model_name=MODEL_NAME, timing=None):
  """Training images/s of the net `model_name`'s train op fed from `source`:
    memory   : a constant batch in variables on the model's device (no input work at all);
    pipeline : the trainer's input (or 'cached' for cached_decoded_batch) before the same op;
    trainer  : trainer.build_graph itself (its queue/tf_data input, the summaries built but only
               the train op run), i.e. what train_alexnet.py steps.
  The session is the trainer's: session.session_config(precision, threads).
  """
  import tensorflow as tf

  from rundir import session
  from training import train_config
  if source not in INPUTS:
    raise ValueError('unknown source %r; choose one of %s' % (source, ', '.join(INPUTS)))
  config = train_config.TrainConfig(dataset_dir=dataset_dir, train_dir='', batch_size=batch_size,
                                    precision=precision, input_pipeline=pipeline,
                                    fast_mode=fast_mode, decode_and_crop=decode_and_crop,
                                    num_preprocessing_threads=num_preprocessing_threads,
                                    model_name=model_name)
  with tf.Graph().as_default() as graph:
    tf.compat.v1.set_random_seed(config.seed)
    train_op = _train_op(config, get_dataset(dataset_dir, config.dataset_split_name), source)
    session_config = session.session_config(precision, inter_op_threads=inter_op_threads,
                                            intra_op_threads=intra_op_threads)
    with running_session(session_config) as sess:
      graph.finalize()
      result = measure(lambda: sess.run(train_op), batch_size, **(timing or {}))
  result.update(model=model_name, source=source, precision=precision, batch_size=batch_size,
                pipeline=None if source == 'memory' else pipeline,
                fast_mode=fast_mode, decode_and_crop=decode_and_crop,
                inter_op_threads=inter_op_threads, intra_op_threads=intra_op_threads,
                num_preprocessing_threads=num_preprocessing_threads)
  return result


def _key(row):
  """What tells a training row from the others: its net, input, precision and batch size."""
  return dict(model=row['model'], source=row['source'],
              precision=row['precision'], batch_size=row['batch_size'])


def keep_best(rows, row):
  """Replaces the row of the same net, source, precision and batch size by `row` when it is
  faster; the kept row lists the rate of every round."""
  key = _key(row)
  old = find_row(rows, **key)
  rates = old.get('round_rates', [old['images_per_sec']]) + [row['images_per_sec']]
  best = row if row['images_per_sec'] > old['images_per_sec'] else old
  best['round_rates'] = [round(r, 2) for r in rates]
  rows[rows.index(old)] = best


def with_input_ratios(rows):
  """Gives each row fed from an input its rate over the in-memory row's ('input_ratio')."""
  for row in rows:
    if row['source'] != 'memory':
      memory = find_row(rows, **dict(_key(row), source='memory'))
      row['input_ratio'] = ratio(row, memory)
  return rows


def run_section(bench, rate=train_rate):
  """Every batch size and precision from memory and from the pipeline, and at the targets'
  batch size as trainer.build_graph too; those rows again (settings.rounds in all, the best
  kept); then the other nets from memory at that batch size, in each precision.
  rate: train_rate or a function with its arguments that gives a row."""
  rows = []
  target = bench.target_batch_size

  def measure_row(batch_size, source, precision, model_name=MODEL_NAME, again=False):
    row = rate(bench.dataset_dir, batch_size, source, precision, model_name=model_name,
               timing=bench.timing)
    log('training %s %s %s batch %d%s: %.1f images/s' % (
        model_name, source, precision, batch_size, ', again' if again else '',
        row['images_per_sec']))
    if again:
      keep_best(rows, row)
    else:
      rows.append(row)

  for batch_size in bench.settings.batch_sizes:
    for precision in bench.precisions:
      for source in INPUTS if batch_size == target else ('memory', 'pipeline'):
        measure_row(batch_size, source, precision)
  for _ in range(bench.settings.rounds - 1):
    for precision in bench.precisions:
      for source in INPUTS:
        measure_row(target, source, precision, again=True)
  for model_name in OTHER_MODELS:
    for precision in bench.precisions:
      measure_row(target, 'memory', precision, model_name)
  bench.results['training'] = with_input_ratios(rows)
