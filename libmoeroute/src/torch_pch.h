// Precompiled header for the torch-facing sources (moeroute::torch). Only LibTorch goes here.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>
