"""The nets' names, without TensorFlow: the --model_name choices (cli reads them before
TensorFlow loads). nets_factory builds a net of each name and checks it has every one."""

NAMES = ('alexnet_tv', 'alexnet_v2', 'alexnet_v2_bn')  # sorted, as --helpfull lists them
