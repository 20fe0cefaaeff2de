"""How closely convert_torchvision_alexnet.py --verify wants the checkpoint to agree with
torchvision's AlexNet, without TensorFlow: the flag's help says it before TensorFlow loads;
pretrained.torchvision_alexnet compares."""

VERIFY_TOLERANCE = 1e-4   # largest logit difference allowed, as a fraction of the logit range
