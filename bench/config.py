"""What one benchmark run measures and on what: the modes (--quick or full), the sections, and
the state the sections share while they run."""
import dataclasses
import os

MODEL_NAME = 'alexnet_v2'     # the net of every section
OTHER_MODELS = ('alexnet_tv',)  # also measured: training in memory, evaluation, peak fraction
MODELS = (MODEL_NAME,) + OTHER_MODELS
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
  warmup_seconds: float        # and at least this long: the queue pipeline's buffers full
  windows: int                 # timed windows per figure
  window_seconds: float        # each window runs whole steps for about this long
  matmul_size: int

  @property
  def timing(self):
    """The keyword arguments of timing.measure."""
    return dict(warmup_steps=self.warmup_steps, warmup_seconds=self.warmup_seconds,
                windows=self.windows, window_seconds=self.window_seconds)


MODES = {
    'full': Settings(photos_per_class=120, photo_copies=6, num_validation=350, num_shards=5,
                     converter_repeats=2, converter_script=True, batch_sizes=(16, 32, 64),
                     rounds=2, pipeline_batch_size=32, eval_batch_size=50, warmup_steps=2,
                     warmup_seconds=5.0, windows=3, window_seconds=3.0, matmul_size=2048),
    'quick': Settings(photos_per_class=12, photo_copies=2, num_validation=20, num_shards=2,
                      converter_repeats=1, converter_script=False, batch_sizes=(32,), rounds=1,
                      pipeline_batch_size=32, eval_batch_size=10, warmup_steps=2,
                      warmup_seconds=4.0, windows=2, window_seconds=1.0, matmul_size=1024),
}


@dataclasses.dataclass
class Bench:
  """What every section receives: the settings, the converted dataset and its photos, the
  machine, and the results so far (a section adds its own key; later ones read earlier ones)."""
  settings: Settings
  dataset_dir: str
  photos_dir: str
  machine: dict
  results: dict

  @property
  def timing(self):
    return self.settings.timing

  @property
  def precisions(self):
    mixed = self.machine['mixed_precision']
    return ['fp32'] + ([mixed] if mixed else [])

  @property
  def target_batch_size(self):
    return 32 if 32 in self.settings.batch_sizes else self.settings.batch_sizes[0]
