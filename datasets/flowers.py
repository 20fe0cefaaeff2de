"""The TensorFlow Flowers photos (daisy, dandelion, roses, sunflowers, tulips) as converted by
download_and_convert_flowers.py: 3,320 train and 350 validation images by default."""
from datasets import converted

DATASET_NAME = 'flowers'
SPLITS_TO_SIZES = {'train': 3320, 'validation': 350}
NUM_CLASSES = 5


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """A slim.dataset.Dataset of the Flowers split; see converted.get_split."""
  return converted.get_split(DATASET_NAME, split_name, dataset_dir, file_pattern, reader)
