"""convert_torchvision_alexnet.py writes over nothing it did not make: an existing checkpoint at
--output, or a folder of a training run or a dataset, is refused (one line, exit 2) unless
--overwrite."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from base import UserError
from pretrained import torchvision_alexnet as tva
from rundir import run_info
from support import scripts

HOSTILE = os.path.join(scripts.ROOT, 'tests', 'fixtures', 'pth', 'hostile.pth')
IMAGENET = ['class %d' % i for i in range(tva.NUM_CLASSES)]


def zero_state_dict(value=0.0):
  """torchvision's AlexNet shapes, every weight `value`: a state dict the converter takes."""
  return {key: np.full(shape, value, np.float32) for key, shape in tva.expected_shapes().items()}


def training_folder(folder):
  """A training folder's files (run.json, labels.txt, the state file, a checkpoint) in folder;
  returns {name: bytes}."""
  files = {'run.json': b'{"model_name": "alexnet_v2"}\n', 'labels.txt': b'0:daisy\n1:roses\n',
           'checkpoint': b'model_checkpoint_path: "model.ckpt-50"\n',
           'model.ckpt-50.index': b'the index', 'model.ckpt-50.data-00000-of-00001': b'weights'}
  os.makedirs(folder)
  for name, data in files.items():
    with open(os.path.join(folder, name), 'wb') as f:
      f.write(data)
  return files


def contents(folder):
  found = {}
  for name in os.listdir(folder):
    with open(os.path.join(folder, name), 'rb') as f:
      found[name] = f.read()
  return found


@pytest.mark.parametrize('output,message', [
    ('model.ckpt-50', 'model.ckpt-50 is an existing checkpoint; pass --overwrite'),
    ('', 'holds a run\'s or a dataset\'s files (checkpoint, labels.txt, model.ckpt-50.index, '
         '...)'),
    ('other.ckpt', 'pass --overwrite to write there anyway'),
])
def test_a_checkpoint_or_a_training_folder_is_refused_and_left_as_it_was(tmp_path, output,
                                                                         message):
  folder = str(tmp_path / 'run')
  files = training_folder(folder)
  with pytest.raises(UserError) as raised:
    tva.convert(zero_state_dict(), os.path.join(folder, output), IMAGENET)
  assert message in str(raised.value) and '\n' not in str(raised.value)
  assert contents(folder) == files


def test_a_dataset_folder_is_refused_too(tmp_path):
  folder = tmp_path / 'flowers'
  folder.mkdir()
  (folder / 'labels.txt').write_text('0:daisy\n')
  with pytest.raises(UserError, match='pass --overwrite'):
    tva.check_output(str(folder))
  assert tva.check_output(str(folder), overwrite=True) == str(folder / tva.CHECKPOINT_NAME)
  assert tva.check_output(str(tmp_path / 'new') + '/') == str(tmp_path / 'new' /
                                                               tva.CHECKPOINT_NAME)


def test_the_converted_folder_records_the_digest_of_its_1000_class_names(tmp_path):
  tva.write_run_info(str(tmp_path), IMAGENET)
  with open(tmp_path / 'run.json', encoding='utf-8') as f:
    assert json.load(f)['class_names_sha256'] == run_info.classes_digest(IMAGENET)
  assert run_info.read(str(tmp_path)).class_names == IMAGENET
  (tmp_path / 'labels.txt').write_text(''.join(  # class 0 moved to the end
      '%d:%s\n' % item for item in enumerate(IMAGENET[1:] + IMAGENET[:1])))
  with pytest.raises(UserError, match='labels.txt does not match'):
    run_info.read(str(tmp_path))


@pytest.mark.slow
def test_a_conversion_is_replaced_only_with_overwrite(tmp_path):
  output = str(tmp_path / 'weights') + '/'
  prefix = tva.convert(zero_state_dict(), output, IMAGENET)
  assert sorted(os.listdir(output)) == ['alexnet_tv.ckpt.data-00000-of-00001',
                                        'alexnet_tv.ckpt.index', 'labels.txt', 'run.json']
  with pytest.raises(UserError, match='alexnet_tv.ckpt is an existing checkpoint'):
    tva.convert(zero_state_dict(1.0), output, IMAGENET)
  reader = tf.train.load_checkpoint(prefix)
  assert reader.get_tensor('alexnet_tv/fc8/biases').max() == 0.0  # the first one's
  assert tva.convert(zero_state_dict(1.0), output, IMAGENET, overwrite=True) == prefix
  reader = tf.train.load_checkpoint(prefix)
  assert reader.get_tensor('alexnet_tv/fc8/biases').min() == 1.0  # replaced


def test_the_script_refuses_a_training_folder_before_reading_the_pth(tmp_path):
  folder = str(tmp_path / 'run')
  files = training_folder(folder)
  result = scripts.run_script('convert_torchvision_alexnet.py', '--pth=' + HOSTILE,
                              '--output=%s/model.ckpt-50' % folder)
  scripts.assert_one_line_error(result, 'model.ckpt-50 is an existing checkpoint; pass '
                                '--overwrite to replace it')
  assert contents(folder) == files
