"""evaluation.results: one table of an evaluation's numbers, rendered as log text and as
Markdown."""
import re

import numpy as np

from evaluation import metrics
from evaluation import pass_record
from evaluation import results
from evaluation import results_table
from pictures import photo_grids

NAMES = ['daisy', 'dandelion', 'roses']


def a_result(confusion, **overrides):
  confusion = np.array(confusion, np.int64)
  precision, recall, mean = metrics.class_metrics(confusion)
  settings = dict(checkpoint='/runs/alexnet/model.ckpt-70', step=70, class_names=NAMES,
                  confusion_matrix=confusion, accuracy=np.trace(confusion) / confusion.sum(),
                  loss=1.23456, recall_at_k=0.875, k=2, precision=precision, recall=recall,
                  mean_per_class_accuracy=mean)
  settings.update(overrides)
  return results.EvalResult(**settings)


def numbers(text):
  return re.findall(r'\d+(?:\.\d+)?', text)


def test_text_and_markdown_show_the_same_numbers_in_the_same_order():
  table = results_table.results_table(a_result([[5, 1, 0], [2, 3, 0], [0, 0, 0]]), 'validation')
  text, markdown = table.text(), table.markdown()
  assert numbers(text) == numbers(markdown)
  for cell in ('0.727', '1.2346', '0.875', '0.833', '0.750', '0.600'):
    assert cell in text and cell in markdown
  assert '| roses | - | - | 0 |' in markdown
  assert re.search(r'roses\s+-\s+-\s+0\n', text)


def test_text_is_aligned_columns_with_the_split_in_the_headline():
  table = results_table.results_table(a_result([[5, 1, 0], [2, 3, 0], [0, 0, 12]]), 'validation')
  lines = table.text().splitlines()
  assert lines[0] == ('model.ckpt-70 (step 70) on 23 validation images: accuracy 0.870, loss '
                      '1.2346, recall@2 0.875, mean per-class accuracy 0.811')
  assert lines[1] == '  class      precision  recall  images'
  assert lines[-4:] == ['                 daisy  dandelion      roses',
                        '  daisy              5          1          0',
                        '  dandelion          2          3          0',
                        '  roses              0          0         12']


def test_markdown_is_tables_for_the_text_dashboard():
  markdown = results_table.results_table(a_result([[1, 0, 0], [0, 1, 0], [0, 0, 1]])).markdown()
  assert markdown.startswith('**model.ckpt-70** (step 70), 3 images: accuracy 1.000')
  assert '| class | precision | recall | images |\n|---|---|---|---|\n| daisy |' in markdown
  assert markdown.endswith('| true \\ predicted | daisy | dandelion | roses |\n|---|---|---|---|\n'
                           '| daisy | 1 | 0 | 0 |\n| dandelion | 0 | 1 | 0 |\n'
                           '| roses | 0 | 0 | 1 |')


def test_scalars_leave_undefined_values_out_and_tag_class_names():
  scalars = a_result([[2, 0, 0], [0, 0, 0], [0, 0, 0]], class_names=['a b', 'c', 'd']).scalars()
  assert scalars['eval/precision/a_b'] == 1.0 and scalars['eval/num_examples'] == 2.0
  assert 'eval/recall/c' not in scalars and 'eval/precision/c' not in scalars


def test_the_grad_cam_grid_lays_each_heat_map_over_its_own_photo_mistakes_first():
  grey = np.full((96, 96, 3), 128, np.uint8)
  hot_left = np.zeros((96, 96))
  hot_left[:, :48] = 1.0
  record = pass_record.PassRecord(grid_images=24)
  record.add({'labels': [0, 1], 'predictions': [0, 2],  # right, then a mistake (drawn first)
              'probabilities': np.eye(3)[[0, 2]], 'filenames': [b'f', b'g'],
              'thumbnails': [grey, grey], 'heat': [np.zeros((96, 96)), hot_left]})  # hot: 1
  plain = pass_record.prediction_grid(record, NAMES, 24)
  heat = pass_record.prediction_grid(record, NAMES, 24, heat=True)
  assert plain.shape == heat.shape
  changed = np.abs(plain.astype(int) - heat).sum(axis=2) > 30
  columns = np.flatnonzero(changed.any(axis=0))
  # Only the first cell (the mistake) changed, and there the left half of its photo.
  half = photo_grids.GRID_THUMB_SIZE // 2
  assert columns.size and columns.min() < 8 and half - 3 < columns.max() < half + 8


def test_a_pipe_in_a_class_name_does_not_split_its_markdown_cell():
  markdown = results_table.results_table(
      a_result([[1, 0], [0, 1]], class_names=['pipe|name', 'b'])).markdown()
  assert '| pipe\\|name | 1.000 | 1.000 | 1 |' in markdown
  assert '| true \\ predicted | pipe\\|name | b |' in markdown
  for line in markdown.splitlines():
    if line.startswith('|'):  # every row as many cells as its header
      assert len(re.split(r'(?<!\\)\|', line)) in (6, 5), line


def test_grad_cam_captions_name_classes_the_font_lacks_by_id():
  captions = []
  fixed = {'probabilities': [[0.9, 0.1]], 'labels': [1],
           'images': [np.zeros((8, 8, 3), np.uint8)], 'heat': [np.zeros((8, 8))],
           'conv1': [np.zeros((4, 4, 2))], 'conv5': [np.zeros((2, 2, 2))]}
  results.fixed_photo_values(
      fixed, ['\u3072\u307e\u308f\u308a', 'daisy'],
      overlay=lambda image, heat, caption, probability: captions.append(caption) or image)
  assert captions == ['class 0 (true: daisy)']
