"""ExportConfig: what export_alexnet.py exports and where, each field with its flag's help text,
topic and range (base.options), without TensorFlow: the script's flags come from here before
TensorFlow loads; inference.export validates and runs it."""
import dataclasses
from typing import Optional

from base.options import REQUIRED
from base.options import option
from rundir import run_settings


@dataclasses.dataclass
class ExportConfig:
  checkpoint_path: str = option(
      REQUIRED, 'A training folder (its newest checkpoint) or a checkpoint prefix such as '
      'runs/alexnet/model.ckpt-1000. Its folder\'s run.json and labels.txt tell the rest.',
      'Checkpoints')
  export_dir: str = option(REQUIRED, 'Folder of the model\'s versions: the SavedModel goes to '
                           'EXPORT_DIR/<version>/, as TensorFlow Serving expects.', 'Export')
  version: Optional[int] = option(
      None, 'Version number (default: one more than the highest in --export_dir).', 'Export',
      minimum=0, says_value=True)
  overwrite: bool = option(False, 'Replace EXPORT_DIR/<version> when it exists.', 'Export')
  tflite: bool = option(False, 'Also write model.tflite (TensorFlow Lite, the float signature) '
                        'into the version folder, checked against the SavedModel.', 'Export')
  overrides: run_settings.Overrides = dataclasses.field(default_factory=run_settings.Overrides)
