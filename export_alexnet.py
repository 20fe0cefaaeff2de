"""Exports a trained checkpoint as a TensorFlow SavedModel that TensorFlow Serving can serve.

  python export_alexnet.py --checkpoint_path=runs/alexnet --export_dir=models/alexnet
  tensorflow_model_server --rest_api_port=8501 --model_name=alexnet \\
                          --model_base_path=$PWD/models/alexnet

Writes EXPORT_DIR/<version>/ (default: one more than the highest version there) with two
signatures: serving_default on encoded photos (JPEG/PNG bytes, preprocessed in the graph) and
predict_images on preprocessed float images, each returning probabilities, class_id and
class_name. --tflite adds model.tflite of the float signature, checked against the SavedModel.
"""
import sys

from absl import flags
from absl import logging

import cli
from cli import script_flags
from inference import export_config

FLAGS = flags.FLAGS
CONFIG = export_config.ExportConfig  # every option lives there: default, help, topic, range


def define_flags():
  script_flags.define_config_flags(CONFIG)  # a flag per ExportConfig option, with its help
  script_flags.define_checkpoint_flags()


define_flags()
flags.adopt_module_key_flags(script_flags)  # listed in --helpshort, as this script's own


def main(argv):
  del argv
  # Here, not above: it imports TensorFlow, which cli loads only after the flags parsed.
  from inference import export

  config = script_flags.config_from_flags(CONFIG, overrides=script_flags.checkpoint_overrides())
  result = export.export(config)
  logging.info('Exported %s as version %d: %s', result.checkpoint, result.version, result.path)
  if result.tflite_bytes is not None:
    logging.info('TensorFlow Lite model: %s/%s, %d bytes (%.1f MB); its probabilities are '
                 'within %.2g of the SavedModel\'s.', result.path, export.TFLITE_FILENAME,
                 result.tflite_bytes, result.tflite_bytes / 1e6, result.tflite_difference)
  return 0


if __name__ == '__main__':
  flags.mark_flags_as_required(['checkpoint_path', 'export_dir'])
  # Eager on: TensorFlow 2's TFLite converter needs it; the export's graph is built in a graph
  # of its own (inference.export.write_saved_model).
  sys.exit(cli.run(main, graph_mode=False))
