"""What evaluation tests build again and again: a random confusion matrix, a quiet EvalConfig."""
import numpy as np

from evaluation.eval_config import EvalConfig


def random_confusion(num_classes, images, seed=0, right=0.3):
  """A confusion matrix of `images` predictions, a share `right` of them right."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_classes, images)
  predicted = np.where(rng.random(images) < right, labels, rng.integers(0, num_classes, images))
  matrix = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(matrix, (labels, predicted), 1)
  return matrix


def eval_config(dataset_dir, checkpoint, eval_dir, batch_size=4, **overrides):
  """An EvalConfig of one thread, without the projector, grid and fixed photos (unless given)."""
  settings = dict(dataset_dir=dataset_dir, checkpoint_path=checkpoint, eval_dir=str(eval_dir),
                  batch_size=batch_size, num_preprocessing_threads=1, embedding_every=0,
                  grid_images=0, fixed_photos=0)
  settings.update(overrides)
  return EvalConfig(**settings)
