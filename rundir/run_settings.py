"""What a user may say of a training run's checkpoints explicitly, over what its run.json says
(Overrides: predict's and export's flags), without TensorFlow: cli reads it before TensorFlow
loads; rundir.run_info applies it."""
import dataclasses
from typing import Optional

from base.options import option
from nets import names

DEFAULT_MODEL = 'alexnet_v2'  # the net of a training folder without run.json


@dataclasses.dataclass
class Overrides:
  """What a user may say explicitly (None: from run.json, or the default)."""
  model_name: Optional[str] = option(None, 'The network.', 'Model',
                                     choices=names.NAMES)
  labels_file: Optional[str] = option(  # a labels.txt; dataset_dir/labels.txt when that given
      None, 'labels.txt (id:name lines) of the classes; default: the training folder\'s.',
      'Dataset')
  dataset_dir: Optional[str] = option(None, 'Or the converted dataset whose labels.txt to use.',
                                      'Dataset')
  image_size: Optional[int] = option(
      None, 'Input size (predict --full_image: the photo\'s shorter side); default: the one '
      'training used.', 'Model')
  moving_average_decay: Optional[float] = option(
      None, 'Use the moving averages of the weights kept with this decay (default: when the run '
      'kept them); 0: the raw weights.', 'Optimization')
