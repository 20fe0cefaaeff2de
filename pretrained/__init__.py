"""Weights trained elsewhere, read without their framework: pth (torch.save files)."""
