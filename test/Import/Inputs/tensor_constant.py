"""Saves a traced module whose forward uses a tensor constant: torch.jit.save
writes it as the record constants/0, declared by constants.pkl."""

import sys
import warnings

import torch

# The trace warns that the constant is registered as one: that is the point.
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)


class ScaledConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)

    def forward(self, x):
        # A constant of the trace, not a parameter.
        return self.conv(x) * torch.tensor([0.5, 2.0]).view(1, 2, 1, 1)


torch.manual_seed(0)
torch.jit.trace(ScaledConv().eval(), torch.zeros(1, 1, 8, 8)).save(sys.argv[1])
