"""PredictConfig: what predict_alexnet.py classifies and how, each field with its flag's help
text, topic and range (base.options), without TensorFlow: the script's flags come from here
before TensorFlow loads; inference.predict validates and runs it."""
import dataclasses
from typing import Optional
from typing import Sequence

from base.options import REQUIRED
from base.options import option
from rundir import run_settings


@dataclasses.dataclass
class PredictConfig:
  checkpoint_path: str = option(
      REQUIRED, 'A training folder (its newest checkpoint) or a checkpoint prefix such as '
      'runs/alexnet/model.ckpt-1000. Its folder\'s run.json and labels.txt tell the rest.',
      'Checkpoints')
  photos: Sequence[str] = ()              # files, folders (recursively) and glob patterns
  top_k: int = option(3, 'Classes shown per photo in the table.', 'Prediction', above=0,
                      says_value=True)
  output: Optional[str] = option(
      None, 'Also write every class\'s probability per photo to this file: .csv, or .jsonl for '
      'JSON lines (path, class, probability, probabilities; skipped photos: path and error); '
      'not one of the photos.',
      'Prediction')
  full_image: bool = option(
      False, 'Classify the whole photo (aspect kept) through the fully convolutional net with '
      'its score map averaged, as eval_alexnet.py --full_image; default: the central crop, as '
      'evaluation.', 'Model')
  batch_size: int = option(32, 'Photos per run of the net (1 with --full_image).',
                           'Input pipeline', above=0, says_value=True)
  explain: Optional[str] = option(
      None, 'Write a Grad-CAM picture per photo into this folder: where the net looked for the '
      'class it predicted (a name already taken there gets -2, -3, ...: no file is replaced).',
      'Prediction')
  # For training folders without run.json, or to override it.
  overrides: run_settings.Overrides = dataclasses.field(default_factory=run_settings.Overrides)
