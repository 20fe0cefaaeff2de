"""Converts torchvision's ImageNet AlexNet weights (a .pth state dict) into a TF checkpoint of
alexnet_tv, to fine-tune on Flowers from.

  python convert_torchvision_alexnet.py --pth=alexnet-owt-7be5be79.pth --output=pretrained/
  python convert_torchvision_alexnet.py --pth=... --output=pretrained/ --verify

Writes OUTPUT/alexnet_tv.ckpt (or the prefix OUTPUT when it is not a folder) and, when
torchvision is installed, labels.txt (its 1000 ImageNet class names) and run.json beside it;
prints the command that fine-tunes from it. An existing checkpoint at --output, or a folder
holding a run's or a dataset's files (run.json, labels.txt, checkpoints), is refused unless
--overwrite. Works without torch: the file is read as a tensor state dict, refusing any pickle
that asks for something else. --verify (torch and torchvision installed) runs torchvision's
AlexNet with the same weights and the checkpoint on the same images and exits 1 when their
logits differ by more than 1e-4 of the logit range.
"""
import importlib
import sys

from absl import flags
from absl import logging

import cli
from pretrained import verification

FLAGS = flags.FLAGS

flags.DEFINE_string('pth', None, 'torchvision\'s AlexNet state dict (.pth, as torch.save wrote '
                    'it: the zip format or the legacy one), e.g. alexnet-owt-7be5be79.pth.')
flags.DEFINE_string('output', None, 'A folder (gets alexnet_tv.ckpt, labels.txt, run.json) or a '
                    'checkpoint prefix.')
flags.DEFINE_boolean('overwrite', False, 'Replace an existing checkpoint at --output, or write '
                     'into a folder that holds a training run\'s or a dataset\'s files (run.json, '
                     'labels.txt, checkpoints).')
flags.DEFINE_boolean('verify', False, 'Compare the checkpoint\'s logits with torchvision\'s '
                     'AlexNet on the same images (needs torch and torchvision); exit 1 when they '
                     'differ by more than %g of the logit range.'
                     % verification.VERIFY_TOLERANCE)


def _import_torch_first():
  """torch before TensorFlow (cli.run imports it after the flags parsed): the other order
  crashed in one process."""
  for name in ('torch', 'torchvision'):
    try:
      importlib.import_module(name)
    except ImportError:
      return


def main(argv):
  del argv
  # Here, not above: they import TensorFlow, which cli loads only after the flags parsed.
  from pretrained import pth
  from pretrained import torchvision_alexnet

  torchvision_alexnet.check_output(FLAGS.output, FLAGS.overwrite)  # before the long read
  state_dict = pth.read_state_dict(FLAGS.pth)
  class_names = torchvision_alexnet.imagenet_class_names()
  prefix = torchvision_alexnet.convert(state_dict, FLAGS.output, class_names, FLAGS.overwrite)
  logging.info('Wrote %s (alexnet_tv, %d classes)%s.', prefix, torchvision_alexnet.NUM_CLASSES,
               ' with labels.txt and run.json' if class_names else
               ' (no labels.txt: torchvision is not installed)')
  status = 0
  if FLAGS.verify:
    difference, logit_range, ok = torchvision_alexnet.verify(state_dict, prefix)
    logging.info('Largest logit difference from torchvision\'s AlexNet: %.3g, on logits that '
                 'span %.3g%s', difference, logit_range, '' if ok else
                 '; over the tolerance of %g of that span' % verification.VERIFY_TOLERANCE)
    status = 0 if ok else 1
  print('Fine-tune it on Flowers, first fc6-fc8 (then all layers at a lower rate: README.md, A '
        'pretrained start):\n  %s' % torchvision_alexnet.fine_tune_command(prefix))
  return status


if __name__ == '__main__':
  flags.mark_flags_as_required(['pth', 'output'])
  sys.exit(cli.run(main, before_tensorflow=_import_torch_first))
