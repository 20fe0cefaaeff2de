"""flowers.get_split, the dataset factory and the label file."""
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from base import UserError
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import flowers
from support.dataset_helpers import CLASS_NAMES
from support.dataset_helpers import write_records_dataset
from support.tf_helpers import tiny_train_config
from training import trainer


def test_label_file_round_trips_on_python3(tmp_path):
  labels = {0: 'daisy', 1: 'dandelion', 4: 'tulips'}
  dataset_utils.write_label_file(labels, str(tmp_path))
  assert (tmp_path / 'labels.txt').read_text() == '0:daisy\n1:dandelion\n4:tulips\n'
  assert dataset_utils.read_label_file(str(tmp_path)) == labels


def test_label_file_with_a_bad_line_is_a_user_error(tmp_path):
  (tmp_path / 'labels.txt').write_text('0:daisy\ndandelion\n')
  with pytest.raises(UserError, match='line 2'):
    dataset_utils.read_label_file(str(tmp_path))


def test_get_split_reports_sizes_classes_and_names(records_dataset):
  dataset_dir, splits = records_dataset
  for split in ('train', 'validation'):
    dataset = flowers.get_split(split, dataset_dir)
    assert dataset.num_samples == len(splits[split])
    assert dataset.num_classes == 5
    assert dataset.labels_to_names == dict(enumerate(CLASS_NAMES))
    assert len(dataset.data_sources) == 2


def test_get_split_counts_shards_when_there_is_no_manifest(tmp_path):
  splits = write_records_dataset(str(tmp_path), per_class=3, num_validation=4,
                                 write_manifest=False)
  assert flowers.get_split('train', str(tmp_path)).num_samples == len(splits['train']) == 11


def test_get_split_errors_are_one_line_user_errors(tmp_path, records_dataset):
  with pytest.raises(UserError, match='unknown split "test"'):
    flowers.get_split('test', records_dataset[0])
  with pytest.raises(UserError, match='does not exist'):
    flowers.get_split('train', str(tmp_path / 'missing'))
  with pytest.raises(UserError, match='run download_and_convert_flowers.py'):
    flowers.get_split('train', str(tmp_path))


def test_factory_reads_a_dataset_converted_under_another_name(tmp_path):
  write_records_dataset(str(tmp_path), per_class=2, num_validation=3, dataset_name='mine')
  dataset = dataset_factory.get_dataset('mine', 'validation', str(tmp_path))
  assert dataset.num_samples == 3 and dataset.num_classes == 5
  with pytest.raises(UserError, match='no train shards'):
    dataset_factory.get_dataset('flowers', 'train', str(tmp_path))


def test_data_provider_reads_images_and_labels_matching_the_source(records_dataset):
  dataset_dir, splits = records_dataset
  expected = {f: (label, h, w) for f, label, h, w in splits['validation']}
  with tf.Graph().as_default():
    dataset = flowers.get_split('validation', dataset_dir)
    provider = slim.dataset_data_provider.DatasetDataProvider(dataset, shuffle=False,
                                                              num_epochs=1)
    image, label, filename = provider.get(['image', 'label', 'filename'])
    seen = {}
    with tf.compat.v1.train.MonitoredSession() as sess:
      while not sess.should_stop():
        img, lab, name = sess.run([image, label, filename])
        seen[name.decode()] = (int(lab), img.shape[0], img.shape[1], img)
  assert set(seen) == set(expected)
  colours = np.array([(240, 240, 240), (230, 210, 30), (200, 30, 60), (120, 70, 20),
                      (150, 40, 200)])
  for name, (label, h, w, img) in seen.items():
    assert (label, h, w) == expected[name]
    assert img.shape == (h, w, 3) and img.dtype == np.uint8
    mean = img.reshape(-1, 3).mean(axis=0)
    assert np.argmin(np.abs(colours - mean).sum(axis=1)) == label



# --- folders the readers must take literally --------------------------------------------------

def test_a_dataset_dir_with_glob_characters_is_refused_not_read_from_its_sibling(
    tmp_path, records_dataset):
  shutil.copytree(records_dataset[0], str(tmp_path / 'ds1'))
  lookalike = tmp_path / 'ds[1]'
  lookalike.mkdir()
  shutil.copy(os.path.join(records_dataset[0], 'labels.txt'), str(lookalike))
  with pytest.raises(UserError, match=r'--dataset_dir=.*ds\[1\] has glob characters'):
    dataset_factory.get_dataset('flowers', 'train', str(lookalike))


def test_shard_lists_take_the_folder_literally(tmp_path, records_dataset):
  shutil.copytree(records_dataset[0], str(tmp_path / 'ds1'))
  (tmp_path / 'ds[1]').mkdir()
  assert dataset_utils.shard_files(str(tmp_path / 'ds[1]'), 'flowers', 'train') == []
  assert len(dataset_utils.shard_files(str(tmp_path / 'ds1'), 'flowers', 'train')) == 2


# --- labels.txt against the manifest and the records ------------------------------------------

LABEL_FILES = {
    'last line removed': ('0:daisy\n1:dandelion\n2:roses\n3:sunflowers\n',
                          r"it lists 4 classes, manifest.json 5 \('tulips' missing\)"),
    'ids 0,1,3,4,5': ('0:daisy\n1:dandelion\n3:roses\n4:sunflowers\n5:tulips\n',
                      r'id 2 is missing'),
    'a repeated id': ('0:daisy\n1:dandelion\n1:roses\n3:sunflowers\n4:tulips\n',
                      r'line 3 repeats id 1 of line 2'),
    'two names swapped': ('0:daisy\n1:roses\n2:dandelion\n3:sunflowers\n4:tulips\n',
                          r"id 1 is 'roses', manifest.json says 'dandelion'"),
}


@pytest.mark.parametrize('case', sorted(LABEL_FILES))
def test_a_label_file_that_disagrees_with_the_manifest_is_one_user_error(
    records_dataset_copy, case):
  text, problem = LABEL_FILES[case]
  dataset_dir = records_dataset_copy[0]
  with open(os.path.join(dataset_dir, 'labels.txt'), 'w') as f:
    f.write(text)
  with pytest.raises(UserError, match=re.escape(os.path.join(dataset_dir, 'labels.txt')) +
                     '.*' + problem) as raised:
    dataset_factory.get_dataset('flowers', 'train', dataset_dir)
  assert '\n' not in str(raised.value)


def test_without_a_manifest_labels_are_checked_against_the_records(tmp_path):
  dataset_dir = str(tmp_path)
  write_records_dataset(dataset_dir, per_class=2, num_validation=3, write_manifest=False)
  dataset_utils.write_label_file(dict(enumerate(CLASS_NAMES[:4])), dataset_dir)
  with pytest.raises(UserError, match='labels.txt: records carry label 4, but it has ids 0-3'):
    flowers.get_split('train', dataset_dir)
  dataset_utils.write_label_file({0: 'a', 1: 'b', 3: 'c', 4: 'd', 5: 'e'}, dataset_dir)
  with pytest.raises(UserError, match='labels.txt: id 2 is missing'):
    flowers.get_split('train', dataset_dir)


def test_training_with_a_line_removed_from_labels_txt_is_refused_before_a_checkpoint(
    tmp_path, records_dataset_copy):
  """(The trainer's UserErrors are one line and exit 2 from train_alexnet.py: test_train_script.)"""
  dataset_dir = records_dataset_copy[0]
  with open(os.path.join(dataset_dir, 'labels.txt'), 'w') as f:
    f.write(LABEL_FILES['last line removed'][0])
  with pytest.raises(UserError, match=r"labels\.txt.*'tulips' missing"):
    trainer.train(tiny_train_config(dataset_dir, tmp_path / 'train', max_number_of_steps=1,
                                    batch_size=2))
  assert not os.path.exists(tmp_path / 'train' / 'checkpoint')
