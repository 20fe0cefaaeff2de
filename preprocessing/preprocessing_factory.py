"""Preprocessing by network name: a plain dict from name to preprocessing module.

research/slim had no entry for alexnet_v2, so asking for it raised ValueError (models#423);
here the AlexNet names use Inception preprocessing (random crops, colour distortion, [-1, 1]).
"""
from preprocessing import inception_preprocessing

PREPROCESSING_MAP = {
    'alexnet_v2': inception_preprocessing,
    'alexnet_v2_bn': inception_preprocessing,
    'inception': inception_preprocessing,
}


def _module(name):
  if name not in PREPROCESSING_MAP:
    raise ValueError('unknown preprocessing "%s"; choose one of %s'
                     % (name, ', '.join(sorted(PREPROCESSING_MAP))))
  return PREPROCESSING_MAP[name]


def get_jpeg_preprocessing(name, is_training=False):
  """fn(jpeg_bytes, output_height, output_width, **kwargs) for a scalar string tensor of
  encoded image bytes. kwargs go to preprocess_jpeg (decode_and_crop, fast_mode, seed, ...)."""
  module = _module(name)

  def preprocessing_fn(jpeg_bytes, output_height, output_width, **kwargs):
    return module.preprocess_jpeg(jpeg_bytes, output_height, output_width,
                                  is_training=is_training, **kwargs)

  return preprocessing_fn
