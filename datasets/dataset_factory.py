"""Datasets by name: 'flowers', or the --dataset_name of any other converted class-folder set."""
from datasets import flowers
from datasets import reader

DATASETS_MAP = {
    'flowers': flowers.get_split,
}


def get_dataset(name, split_name, dataset_dir, file_pattern=None):
  """A slim.dataset.Dataset. Unknown names are read as datasets the converter wrote with
  --dataset_name=<name>: shards <name>_<split>_*.tfrecord, with their own labels.txt."""
  if name in DATASETS_MAP:
    return DATASETS_MAP[name](split_name, dataset_dir, file_pattern)
  return reader.get_split(name, split_name, dataset_dir, file_pattern)
