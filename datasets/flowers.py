"""The TensorFlow Flowers photos (daisy, dandelion, roses, sunflowers, tulips) as converted by
download_and_convert_flowers.py: 3,320 train and 350 validation images by default (the sizes and
classes are read from the conversion, so other --num_validation values work too)."""
from datasets import reader

DATASET_NAME = 'flowers'


def get_split(split_name, dataset_dir, file_pattern=None):
  """A slim.dataset.Dataset of the Flowers split; see reader.get_split."""
  return reader.get_split(DATASET_NAME, split_name, dataset_dir, file_pattern)
