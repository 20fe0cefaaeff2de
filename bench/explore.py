"""The explore section: variations of the training rows at the targets' batch size (thread
counts, the other pipelines, decode_and_crop off, cached decoded images, fewer preprocessing
threads), each against its baseline."""
from bench.config import MODEL_NAME
from bench.timing import find_row
from bench.timing import log
from bench.timing import ratio
from bench.training_rate import train_rate

# (what, the baseline it is compared with, train_rate's arguments)
RUNS = (
    ('memory, inter 1 / intra 2 threads', 'memory',
     dict(source='memory', inter_op_threads=1, intra_op_threads=2)),
    ('memory, inter 2 / intra 1 threads', 'memory',
     dict(source='memory', inter_op_threads=2, intra_op_threads=1)),
    ('pipeline, inter 1 / intra 2 threads', 'pipeline',
     dict(source='pipeline', inter_op_threads=1, intra_op_threads=2)),
    ('pipeline, 2 preprocessing threads', 'pipeline',
     dict(source='pipeline', num_preprocessing_threads=2)),
    ('pipeline, tf_data', 'pipeline', dict(source='pipeline', pipeline='tf_data')),
    ('pipeline, decode_and_crop off', 'pipeline', dict(source='pipeline', decode_and_crop=False)),
    ('pipeline, cached decoded images (tf.data)', 'pipeline',
     dict(source='pipeline', pipeline='cached')),
)


def explore_runs(dataset_dir, settings, batch_size, baselines):
  """Each of RUNS (fp32) with its rate over its baseline's ('vs_baseline'); baselines:
  {'memory': row, 'pipeline': row} (a missing one leaves vs_baseline None)."""
  rows = []
  for what, baseline, kwargs in RUNS:
    row = train_rate(dataset_dir, batch_size, timing=settings.timing, **kwargs)
    row['what'] = what
    row['vs_baseline'] = ratio(row, baselines.get(baseline))
    log('explore, %s: %.1f images/s' % (what, row['images_per_sec']))
    rows.append(row)
  return rows


def run_section(bench):
  """Against the fp32 training rows at the targets' batch size (run.run runs the training
  section first)."""
  baselines = {source: find_row(bench.results.get('training'), model=MODEL_NAME, source=source,
                                precision='fp32', batch_size=bench.target_batch_size)
               for source in ('memory', 'pipeline')}
  bench.results['explore'] = explore_runs(bench.dataset_dir, bench.settings,
                                          bench.target_batch_size, baselines)
