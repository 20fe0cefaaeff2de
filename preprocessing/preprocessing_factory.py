"""Preprocessing by network name: a plain dict from name to preprocessing module.

research/slim had no entry for alexnet_v2, so asking for it raised ValueError (models#423);
here the alexnet_v2 names use Inception preprocessing (random crops, colour distortion, [-1, 1]),
alexnet_tv torchvision's (the normalisation its ImageNet weights expect).

Each module has preprocess_jpeg, preprocess_image, preprocess_full_image and to_pixels.
"""
from base import BadArgument
from preprocessing import inception_preprocessing
from preprocessing import torchvision_preprocessing

PREPROCESSING_MAP = {
    'alexnet_v2': inception_preprocessing,
    'alexnet_v2_bn': inception_preprocessing,
    'inception': inception_preprocessing,
    'alexnet_tv': torchvision_preprocessing,
    'torchvision': torchvision_preprocessing,
}


def _module(name):
  if name not in PREPROCESSING_MAP:
    raise BadArgument('unknown preprocessing "%s"; choose one of %s'
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


def get_full_image_preprocessing(name):
  """fn(jpeg_bytes, shorter_side): the whole photo, its shorter side resized, preprocessed for
  evaluation (the fully convolutional net slides over it)."""
  return _module(name).preprocess_full_image


def get_pixels_fn(name):
  """fn(images) -> uint8 pixels: undoes the preprocessing's scaling of float images [..., 3]
  for pictures (TensorBoard's prediction images, thumbnails, Grad-CAM overlays)."""
  return _module(name).to_pixels
