"""Images to compare two forms of one model on (a SavedModel against its checkpoint, a converted
checkpoint against torchvision): smooth colour ramps with noise, made from a seed."""
import numpy as np


def gradient_images(count, size, limit, noise, seed=0):
  """float32 images [count, size, size, 3] in [-limit, limit]: per channel a mix of a vertical
  and a horizontal ramp over that range, plus normal noise of std `noise`, clipped."""
  rng = np.random.default_rng(seed)
  ramp = np.linspace(-limit, limit, size, dtype=np.float32)
  images = np.empty((count, size, size, 3), np.float32)
  for i in range(count):
    mix = rng.uniform(0.0, 1.0, 3)
    for c in range(3):
      images[i, :, :, c] = ramp[:, None] * mix[c] + ramp[None, :] * (1.0 - mix[c])
  images += rng.normal(0.0, noise, images.shape).astype(np.float32)
  return np.clip(images, -limit, limit)
