"""Class names in any script (issue 15, item 10): summary tags that stay unique and readable, and
pictures that draw real glyphs, or a visible stand-in where the font has none, never boxes."""
import numpy as np
import pytest
import tensorflow as tf

from evaluation import metrics
from evaluation import pass_record
from evaluation import results
from evaluation import results_table
from pictures import confusion
from pictures import lettering
from pictures import photo_grids
from pictures import prediction_card
from summaries import events
from support.tf_helpers import read_events

GERMAN = ['Gänseblümchen', 'Löwenzahn', 'Rosen', 'Sonnenblumen', 'Tulpen']
JAPANESE = ['ひなぎく', 'たんぽぽ', 'ばら', 'ひまわり', 'チューリップ']


# --- summary tags -------------------------------------------------------------------------------

def test_tags_keep_the_letters_of_every_script():
  assert events.class_tags(GERMAN + JAPANESE) == GERMAN + JAPANESE


def test_tags_replace_only_what_breaks_a_tag():
  names = ['red roses', 'a/b', 'tab\there', 'line\nbreak', 'zero\u200bwidth', 'o\u0308']
  assert events.class_tags(names) == ['red_roses', 'a_b', 'tab_here', 'line_break',
                                      'zero_width', '\u00f6']


def test_tags_never_collide():
  names = ['a b', 'a_b', 'a/b', 'a_b_1', 'x', 'x', '', ' ']
  tags = events.class_tags(names)
  assert len(set(tags)) == len(names)
  assert tags[3] == 'a_b_1' and tags[1] != 'a_b_1'


def a_result(class_names):
  confusion = np.diag(np.arange(1, len(class_names) + 1)).astype(np.int64)
  precision, recall, mean = metrics.class_metrics(confusion)
  return results.EvalResult(
      checkpoint='model.ckpt-5', step=5, class_names=class_names, confusion_matrix=confusion,
      accuracy=1.0, loss=0.1, recall_at_k=1.0, k=2, precision=precision, recall=recall,
      mean_per_class_accuracy=mean)


def test_every_class_of_another_script_has_its_own_scalars():
  scalars = a_result(GERMAN + JAPANESE).scalars()
  recall = sorted(tag for tag in scalars if tag.startswith('eval/recall/'))
  assert recall == sorted('eval/recall/' + name for name in GERMAN + JAPANESE)


def test_unicode_tags_survive_the_event_file(tmp_path):
  result = a_result(JAPANESE)
  writer = events.make_writer(str(tmp_path))
  results.write_summaries(writer, result, results_table.results_table(result),
                          pass_record.PassRecord(), 0)
  writer.close()
  tags = read_events(tmp_path)
  assert tags['eval/recall/ひまわり'] == [(5, 'scalar', 1.0)]


@pytest.mark.slow
def test_tensorboard_lists_the_unicode_tags(tmp_path):
  from support import tb_server
  result = a_result(GERMAN + JAPANESE)
  writer = events.make_writer(str(tmp_path / 'eval'))
  writer.add_summary(tf.compat.v1.Summary(value=[
      tf.compat.v1.Summary.Value(tag=tag, simple_value=value)
      for tag, value in result.scalars().items()]), 5)
  writer.close()
  with tb_server.tensorboard(str(tmp_path)) as tb:
    tags = tb.wait_for(lambda: tb.tags('scalars').get('eval'))
  assert {'eval/recall/Löwenzahn', 'eval/recall/ひまわり', 'eval/recall/チューリップ'} <= set(tags)


# --- drawn text ---------------------------------------------------------------------------------

def prediction(names):
  image = np.full((64, 64, 3), 90, np.uint8)
  return prediction_card.prediction_image(image, 1, [0.1, 0.6, 0.1, 0.1, 0.1], names, size=224)


def test_german_letters_are_drawn_each_with_its_own_glyph():
  font = lettering.load_font(12)
  masks = {c: bytes(font.getmask(c)) for c in 'äöüßéÄÖÜ'}
  assert len(set(masks.values())) == len(masks)
  # In the pictures: the umlaut changes what is drawn, so it is not a box shared by all.
  renderings = [prediction([name] + GERMAN[1:]).tobytes()
                for name in ('Gänseblümchen', 'Gonseblümchen', 'Gänseblämchen')]
  assert len(set(renderings)) == 3


def test_names_in_a_script_the_font_lacks_are_drawn_as_class_ids():
  ids = ['class %d' % i for i in range(5)]
  assert not lettering.drawable('ひまわり') and lettering.drawable('Löwenzahn')
  np.testing.assert_array_equal(prediction(JAPANESE), prediction(ids))
  np.testing.assert_array_equal(confusion.confusion_matrix_image(np.eye(5), JAPANESE),
                                confusion.confusion_matrix_image(np.eye(5), ids))
  grid = photo_grids.prediction_grid([np.zeros((8, 8, 3), np.uint8)], [3], [0], JAPANESE)
  np.testing.assert_array_equal(
      grid, photo_grids.prediction_grid([np.zeros((8, 8, 3), np.uint8)], [3], [0], ids))


def test_free_text_shows_a_question_mark_for_a_letter_the_font_lacks():
  image = [np.zeros((8, 8, 3), np.uint8)]
  np.testing.assert_array_equal(photo_grids.image_grid(image, ['ひまわり_001.jpg']),
                                photo_grids.image_grid(image, ['????_001.jpg']))
